"""UI fixtures: a real `homeprice serve` process over a copy of the trained home, with some
traffic, feedback and a drift check, and AppTest runs of the UI pointed at it.

The API runs as a subprocess, not a thread: MLflow's tracking URI is process-global, and the
serving tests of the same session point it at their own homes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.support.homecopy import copy_home
from tests.support.servers import free_port, stop, wait_until_up
from tests.support.tokens import FEEDBACK_AUTH, FEEDBACK_TOKEN
from tests.support.ui import ADMIN_TOKEN, APP, SEEDED_HOMES


def _seed(url: str, data_dir: Path) -> None:
    """Price real California homes and send their actual prices back as feedback."""
    homes = pd.read_csv(data_dir / "california" / "housing.csv", nrows=SEEDED_HOMES)
    actual = homes.pop("median_house_value")
    instances = [{k: v for k, v in row.items() if pd.notna(v)}
                 for row in homes.astype(object).to_dict(orient="records")]
    answer = httpx.post(f"{url}/v1/california/predict", json={"instances": instances},
                        timeout=60)
    answer.raise_for_status()
    for prediction, price in zip(answer.json()["predictions"], actual, strict=True):
        httpx.post(f"{url}/v1/california/feedback", timeout=30, headers=FEEDBACK_AUTH, json={
            "prediction_id": prediction["prediction_id"], "actual_price": float(price)},
        ).raise_for_status()
    # One refused request, so the error rate is not trivially zero.
    httpx.post(f"{url}/v1/california/predict", json={"latitude": 99}, timeout=30)


@pytest.fixture(scope="session")
def ui_home(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the trained home for the UI's API."""
    return copy_home(trained_home, tmp_path_factory.mktemp("ui") / "home",
                     ignore=shutil.ignore_patterns("predictions.db*"))


@pytest.fixture(scope="session")
def api_env(ui_home: Path, real_data_dir: Path) -> dict[str, str]:
    """The environment of the API and CLI processes: the private home, an admin token and
    the feedback token the seeding sends."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_TRACKING_URI", "HOMEPRICE_LOG_DB_URL", "HOMEPRICE_CONFIG")}
    return env | {"HOMEPRICE_HOME": str(ui_home), "HOMEPRICE_DATA_DIR": str(real_data_dir),
                  "HOMEPRICE_ADMIN_TOKEN": ADMIN_TOKEN, "HOMEPRICE_FEEDBACK_TOKEN": FEEDBACK_TOKEN}


@pytest.fixture(scope="session")
def api_url(api_env: dict[str, str], real_data_dir: Path, ui_home: Path) -> Iterator[str]:
    """A running API on a free loopback port, with seeded traffic and feedback."""
    port = free_port()
    # Its output goes to a file, not a pipe: nobody reads a pipe while the UI tests run, and a
    # full one would block the server; the file's tail is in any failure message.
    log = ui_home.parent / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "homeprice.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port)], env=api_env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        # Generous: loading models on a loaded 2-core CI machine can take a minute or more.
        wait_until_up(f"{url}/readyz", server, timeout=300, log=log)
        _seed(url, real_data_dir)
        yield url
    finally:
        stop(server)


@pytest.fixture(scope="session")
def drift_check(api_url: str, api_env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`homeprice monitor drift` over the seeded requests, started in the background (it takes
    a while: Evidently) as soon as the API is up."""
    # The traffic endpoint flushes the server's log queue, so the check sees every request.
    httpx.get(f"{api_url}/v1/insights/california/traffic", timeout=60).raise_for_status()
    process = subprocess.Popen([sys.executable, "-m", "homeprice.cli", "monitor", "drift",
                                "--dataset", "california"], env=api_env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield process
    if process.poll() is None:  # no test waited for it
        process.kill()
        process.communicate()


@pytest.fixture
def drift_checked(drift_check: subprocess.Popen) -> None:
    """Wait for the drift check to finish."""
    output, _ = drift_check.communicate(timeout=300)
    assert drift_check.returncode == 0, output


@pytest.fixture
def ui(api_url: str, drift_check: subprocess.Popen, monkeypatch: pytest.MonkeyPatch
       ) -> AppTest:
    """An AppTest of the UI pointed at the running API (not run yet); the drift check runs
    meanwhile."""
    monkeypatch.setenv("HOMEPRICE_UI__API_URL", api_url)
    monkeypatch.delenv("HOMEPRICE_CONFIG", raising=False)
    return AppTest.from_file(str(APP), default_timeout=120)

