"""A scraper killed mid-run (SIGKILL, no clean-up) resumes where it stood and ends with the same
listings as an uninterrupted run, none twice; and `homeprice scrape` on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeprice.cli import app
from homeprice.config import Settings
from tests.support.portal import (
    RESULTS_PATH,
    Portal,
    PortalServer,
    raw_ids,
    run_scrape,
    write_site_config,
)

pytestmark = pytest.mark.network_local


def _committed_pages(home: Path) -> int:
    state = home / "lake" / "scrape" / "magicbricks" / "fixture-portal" / "state.json"
    try:
        pending = json.loads(state.read_text()).get("pending") or {}
    except (FileNotFoundError, json.JSONDecodeError):
        return 0
    return int(pending.get("pages", 0))


def test_a_killed_run_resumes_to_the_same_final_set(
    portal: Portal, server: PortalServer, settings: Settings, home: Path, tmp_path: Path
) -> None:
    # Slow enough (4 requests/s) to be killed between pages.
    site = write_site_config(tmp_path / "site.yaml", server.url, politeness={"rate_per_second": 4})
    process = subprocess.Popen(
        [sys.executable, "-m", "homeprice.cli", "scrape", "--site", str(site)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while _committed_pages(home) < 3:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the scraper committed no 3 pages within 60 s"
        time.sleep(0.02)
    process.kill()
    process.wait(timeout=30)
    committed = _committed_pages(home)
    before = len(portal.results_requests())
    resumed = run_scrape(server, settings)
    assert resumed.resumed
    after = [hit.path for hit in portal.results_requests()[before:]]
    # The resumed run starts at the first page not committed (the one in flight, if any).
    assert after[0] == f"{RESULTS_PATH}?page={committed + 1}"
    counts = Counter(hit.path for hit in portal.results_requests())
    assert max(counts.values()) <= 2
    ids = raw_ids(settings)
    assert len(ids) == len(set(ids))
    assert set(ids) == portal.expected_kept_ids()


def test_the_scrape_command(
    portal: Portal, server: PortalServer, settings: Settings, tmp_path: Path
) -> None:
    site = write_site_config(tmp_path / "site.yaml", server.url)
    result = CliRunner().invoke(app, ["scrape", "--site", str(site), "--max-pages", "3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["pages"] == 3 and summary["listings_new"] == 27
    assert summary["raw_rows"] == 27 and "page cap of 3" in summary["stopped"]
    assert len(raw_ids(settings)) == 27


def test_the_scrape_command_fails_when_the_site_refuses_us(
    portal: Portal, server: PortalServer, settings: Settings, tmp_path: Path
) -> None:
    portal.robots_status = 503
    site = write_site_config(tmp_path / "site.yaml", server.url)
    result = CliRunner().invoke(app, ["scrape", "--site", str(site)])
    assert result.exit_code == 1
    assert "robots.txt" in result.output and "nothing allowed" in result.output


def test_a_bad_site_config_is_a_usage_error_naming_the_key(tmp_path: Path, home: Path) -> None:
    site = write_site_config(tmp_path / "site.yaml", "https://www.magicbricks.com")
    result = CliRunner().invoke(app, ["scrape", "--site", str(site)])
    assert result.exit_code == 2
    assert "www.magicbricks.com is not a local test host" in result.output
    assert "permission" in result.output
