"""End to end with a real server: shadow traffic from the simulator, feedback, `ab evaluate
--apply` promotes the better challenger, and the running server answers with it (hot reload).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from homeprice import registry, tracking
from homeprice.cli import app
from homeprice.config import Settings, load_settings
from tests.support.bodies import CALIFORNIA
from tests.support.metrics import sample, scrape
from tests.support.registry import constant_price_copy, register_variant
from tests.support.servers import running_server, wait_for

pytestmark = pytest.mark.e2e

runner = CliRunner()


@pytest.fixture
def worse_champion(serving_settings: Settings) -> str:
    """Make a constant-price model the champion and the real model (again) the challenger."""
    good = registry.load_model("california", "1")
    worse = register_variant(serving_settings, constant_price_copy(good))
    registry.promote(tracking.configure(serving_settings), "california", worse, "e2e setup")
    return register_variant(serving_settings, good)


def test_shadow_loop_promotes_the_better_model(served_home: Path, worse_champion: str,
                                               log_backend: str) -> None:
    with running_server(served_home, HOMEPRICE_SERVING__TRAFFIC__CALIFORNIA__MODE="shadow"
                        ) as base:
        models = httpx.get(f"{base}/v1/models").json()["california"]
        assert models["traffic"]["mode"] == "shadow"
        assert models["challenger"]["version"] == worse_champion

        simulated = runner.invoke(app, ["simulate", "-d", "california", "--url", base,
                                        "--requests", "300", "--feedback-rate", "1",
                                        "--clients", "4"])
        assert simulated.exit_code == 0, simulated.output
        assert "failed 0" in simulated.output and "feedback 300" in simulated.output
        # Shadow scoring and the log writer run in the background: wait for every row.
        wait_for(lambda: sample(scrape(base), "homeprice_log_rows_written") == 600,
                 "300 served and 300 shadow rows in the log")

        decision = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply",
                                       "--json"])
        assert decision.exit_code == 0, decision.output
        body = json.loads(decision.output)
        assert body["action"] == "promote" and body["applied"], body["reason"]
        assert body["mode"] == "shadow" and body["challenger"]["labelled"] >= 100

        deadline = time.monotonic() + 30
        answered = None
        while time.monotonic() < deadline:
            answered = httpx.post(f"{base}/v1/california/predict", json=CALIFORNIA).json()
            if answered["model_version"] == worse_champion:
                break
            time.sleep(0.5)
        assert answered and answered["model_version"] == worse_champion
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", "champion") == worse_champion


def test_worse_split_challenger_is_retired(served_home: Path, serving_settings: Settings
                                          ) -> None:
    """A constant-price challenger in split mode: traffic reaches it, the live evidence (at
    the client level, from rows the server logged in split mode) retires it."""
    worse = register_variant(serving_settings,
                             constant_price_copy(registry.load_model("california", "1")))
    with running_server(served_home, HOMEPRICE_SERVING__TRAFFIC__CALIFORNIA__MODE="split",
                        HOMEPRICE_SERVING__TRAFFIC__CALIFORNIA__SHARE="0.5") as base:
        simulated = runner.invoke(app, ["simulate", "-d", "california", "--url", base,
                                        "--requests", "600", "--feedback-rate", "1",
                                        "--clients", "80"])
        assert simulated.exit_code == 0, simulated.output
        assert "'challenger'" in simulated.output and "'champion'" in simulated.output
        wait_for(lambda: sample(scrape(base), "homeprice_log_rows_written") == 600,
                 "600 served rows in the log")
        decision = runner.invoke(app, ["ab", "evaluate", "-d", "california", "--apply",
                                       "--json"])
    assert decision.exit_code == 0, decision.output
    body = json.loads(decision.output)
    assert body["mode"] == "split" and body["action"] == "retire", body["reason"]
    assert body["applied"] and body["excluded_unknown_mode"] == 0
    # Retired because it was measured worse, at least min_clients clients on each side.
    assert body["reason"].startswith("challenger is worse"), body["reason"]
    assert body["challenger"]["model_version"] == worse
    assert min(body["champion"]["clients"], body["challenger"]["clients"]) >= 30
    client = tracking.configure(load_settings())
    assert registry.alias_version(client, "california", "champion") == "1"
    assert registry.alias_version(client, "california", "challenger") is None
