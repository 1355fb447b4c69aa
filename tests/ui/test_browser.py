"""The Price page in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port, stop, wait_until_up

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
# headless=True adds --headless.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; outside CI a missing browser skips (before any server starts), in
    CI it fails."""
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install Debian's chromium (.ci/run does)")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI installs it")
    return found


@pytest.fixture
def streamlit_url(api_url: str, tmp_path: Path) -> Iterator[str]:
    """`homeprice ui` on a free loopback port, talking to the test API."""
    port = free_port()
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("HOMEPRICE_CONFIG", None)
    # `homeprice ui` becomes `streamlit run` (exec), so terminating it stops Streamlit.
    log = tmp_path / "streamlit.log"  # a file, not a pipe nobody reads (see api_url)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "homeprice.cli", "ui", "--api-url", api_url, "--port",
             str(port), "--host", "127.0.0.1"], env=env, stdout=output,
            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_stcore/health", process, log=log)
        yield url
    finally:
        stop(process)


def test_price_page_in_chromium(chromium: str, streamlit_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)  # a loaded machine: generous, never timed

    screenshot = tmp_path / "price-page.png"
    with sync_playwright() as playwright:
        # Playwright passes the profile folder as --user-data-dir (it refuses it in `args`).
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1800})
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.goto(streamlit_url)
            submit = page.get_by_role("button", name="Price this home")
            expect(submit).to_be_visible()
            submit.click()
            metrics = page.get_by_test_id("stMetric")
            expect(metrics.filter(has_text="Price").first).to_contain_text("USD")
            expect(metrics.filter(has_text="90% interval")).to_contain_text("USD")
            # The last section drawn: the screenshot shows the whole answer.
            expect(page.get_by_role("heading", name="Where it is")).to_be_visible()
            expect(page.get_by_test_id("stDeckGlJsonChart")).to_be_visible()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
