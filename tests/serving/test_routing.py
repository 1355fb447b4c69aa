"""Champion/challenger traffic: sticky split, shadow scoring off the request path, admin switch."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from homeprice import registry
from homeprice.config import Settings, TrafficSettings
from homeprice.predictionlog import PredictionLog
from homeprice.serving.app import create_app
from homeprice.serving.routing import (
    CHALLENGER,
    CHAMPION,
    Route,
    ShadowPool,
    TrafficRouter,
    assign,
)
from homeprice.serving.trafficstore import TrafficStore
from tests.support.bodies import CALIFORNIA
from tests.support.registry import register_variant
from tests.support.tokens import FEEDBACK_AUTH

AUTH = {"Authorization": "Bearer s3cret-0123456789"}


def with_traffic(settings: Settings, mode: str, share: float = 0.2,
                 token: str | None = None) -> Settings:
    """`settings` with California's traffic set to `mode` (and an admin token, if given)."""
    serving = settings.serving.model_copy(update={
        "traffic": {"california": TrafficSettings(mode=mode, share=share)}})
    update: dict[str, Any] = {"serving": serving}
    if token is not None:
        update["admin_token"] = SecretStr(token)
    return settings.model_copy(update=update)


def clients_of(variant: str, share: float, count: int) -> list[str]:
    """`count` client ids that `assign` gives to `variant` at `share`."""
    found = [f"client-{i}" for i in range(10_000) if assign(f"client-{i}", share) == variant]
    return found[:count]


def log_rows(home: Path) -> list[dict[str, Any]]:
    """Every row of the app's prediction log."""
    with sqlite3.connect(home / "predictions.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM prediction_logs")]


def counter(client: TestClient, name: str, **labels: str) -> float:
    """The value of a metric of the app (0 when never incremented)."""
    value = client.app.state.context.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


@pytest.fixture
def challenger_home(serving_settings: Settings) -> Settings:
    """The private home with version 2 (a copy of the champion) registered as challenger."""
    version = register_variant(serving_settings, registry.load_model("california", "1"))
    assert version == "2"
    return serving_settings


# -- assignment ---------------------------------------------------------------------------------
def test_assignment_is_sticky() -> None:
    for client_id in ("alice", "bob", "c-42", str(uuid.uuid4()), "ünïcode"):
        variants = {assign(client_id, 0.5) for _ in range(50)}
        assert len(variants) == 1, client_id


@pytest.mark.parametrize("share", [0.2, 0.5])
def test_observed_share_matches_the_setting(share: float) -> None:
    ids = [uuid.uuid4().hex for _ in range(10_000)]
    observed = sum(assign(i, share) == CHALLENGER for i in ids) / len(ids)
    assert abs(observed - share) <= 0.03, observed


def test_share_bounds_and_growing_share_only_moves_champion_clients() -> None:
    ids = [f"user{i}" for i in range(2_000)]
    assert {assign(i, 0.0) for i in ids} == {CHAMPION}
    assert {assign(i, 1.0) for i in ids} == {CHALLENGER}
    at_20 = {i for i in ids if assign(i, 0.2) == CHALLENGER}
    at_50 = {i for i in ids if assign(i, 0.5) == CHALLENGER}
    assert at_20 < at_50


def test_routers_sharing_a_store_converge_on_sync(tmp_path: Path) -> None:
    """Two workers' routers: a change made in one reaches the other at its next sync."""
    start = {"california": TrafficSettings(mode="off", share=0.2)}
    seen: list[tuple[str, str]] = []
    first, second = (TrafficRouter(start, ["california"], lambda d: True,
                                   store=TrafficStore(tmp_path),
                                   on_change=lambda d, s: seen.append((d, s.mode)))
                     for _ in range(2))
    second.sync()  # nothing saved yet: the configuration holds
    assert second.setting("california").mode == "off"
    first.set("california", "split", 0.5)
    assert second.setting("california").mode == "off"
    second.sync()
    assert second.setting("california") == TrafficSettings(mode="split", share=0.5)
    # The later change wins, whichever router made it.
    second.set("california", "shadow")
    first.sync()
    assert first.snapshot() == second.snapshot() == {
        "california": {"mode": "shadow", "share": 0.5, "effective": "shadow"}}
    assert seen == [("california", "off"), ("california", "off"), ("california", "split"),
                    ("california", "split"), ("california", "shadow"), ("california", "shadow")]


def test_an_unreadable_shared_setting_is_ignored(tmp_path: Path) -> None:
    store = TrafficStore(tmp_path)
    (store.folder / "california.json").write_text('{"mode": "sideways"}')
    router = TrafficRouter({}, ["california"], lambda d: True, store=store)
    router.sync()
    assert router.setting("california") == TrafficSettings()


def test_router_modes_and_missing_challenger() -> None:
    loaded = {"california": True, "bengaluru": False}
    router = TrafficRouter({"california": TrafficSettings(mode="split", share=1.0),
                            "bengaluru": TrafficSettings(mode="split", share=1.0)},
                           ["california", "bengaluru"], loaded.__getitem__)
    assert router.variant_for("california", "anyone", "p1") == CHALLENGER
    # Split without a challenger loaded: the champion takes everything.
    assert router.variant_for("bengaluru", "anyone", "p1") == CHAMPION
    router.set("california", "shadow")
    route = router.route("california", "anyone")
    assert (route.answer, route.shadow, route.mode) == (CHAMPION, True, "shadow")
    router.set("bengaluru", "shadow")
    # Without a challenger loaded the effective mode is off, whatever was asked (it is logged).
    assert (router.route("bengaluru", "anyone").shadow,
            router.route("bengaluru", "anyone").mode) == (False, "off")
    # The share is kept when only the mode changes; bad values are refused, nothing changes.
    assert router.set("california", "split").share == 1.0
    with pytest.raises(ValidationError):
        router.set("california", "split", 1.5)
    with pytest.raises(ValidationError):
        router.set("california", "half")  # type: ignore[arg-type]
    assert router.snapshot()["california"] == {"mode": "split", "share": 1.0,
                                               "effective": "split"}
    # Without a client id, the prediction id decides.
    router.set("california", "split", 0.5)
    keys = clients_of(CHALLENGER, 0.5, 1) + clients_of(CHAMPION, 0.5, 1)
    assert [router.variant_for("california", None, k) for k in keys] == [CHALLENGER, CHAMPION]


def test_auto_shadows_only_while_a_challenger_is_loaded() -> None:
    # Guards mode auto (the default): shadow with a challenger, champion alone without, and
    # the effective mode on every Route (logged per prediction) and in the snapshot.
    loaded = {"california": False}
    router = TrafficRouter({}, ["california"], loaded.__getitem__)
    assert router.setting("california").mode == "auto"
    assert router.route("california", "anyone") == Route(CHAMPION, False, "off")
    assert router.snapshot()["california"]["effective"] == "off"
    loaded["california"] = True  # a challenger was registered and hot-loaded
    assert router.route("california", "anyone") == Route(CHAMPION, True, "shadow")
    assert router.snapshot()["california"] == {"mode": "auto", "share": 0.2,
                                               "effective": "shadow"}
    # Explicit modes win over auto.
    router.set("california", "off")
    assert router.route("california", "anyone") == Route(CHAMPION, False, "off")
    router.set("california", "split", 1.0)
    assert router.route("california", "anyone") == Route(CHALLENGER, False, "split")


def test_unquoted_yaml_off_is_off() -> None:
    assert TrafficSettings(mode=False).mode == "off"  # type: ignore[arg-type]


# -- split ----------------------------------------------------------------------------------------
def test_split_is_sticky_per_client_through_the_api(challenger_home: Settings,
                                                    served_home: Path) -> None:
    settings = with_traffic(challenger_home, "split", share=0.5)
    seen: dict[str, set[tuple[str, str]]] = {}
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            for n in range(20):
                client_id = f"client-{n}"
                answer = client.post("/v1/california/predict", json=CALIFORNIA,
                                     headers={"X-Client-Id": client_id})
                assert answer.status_code == 200, answer.text
                body = answer.json()
                seen.setdefault(client_id, set()).add((body["variant"], body["model_version"]))
        # A batch without X-Client-Id goes to one variant as a whole.
        batch = client.post("/v1/california/predict", json={"instances": [CALIFORNIA] * 5})
        assert len({p["variant"] for p in batch.json()["predictions"]}) == 1
        assert client.get("/v1/models").json()["california"]["traffic"] == {
            "mode": "split", "share": 0.5, "effective": "split"}
    assert all(len(pairs) == 1 for pairs in seen.values()), seen  # one client, one model
    pairs = set().union(*seen.values())
    assert pairs == {("champion", "1"), ("challenger", "2")}
    for client_id, (variant_and_version,) in seen.items():
        assert variant_and_version[0] == assign(client_id, 0.5)

    rows = [r for r in log_rows(served_home) if r["client_id"] is not None]
    assert len(rows) == 60 and all(r["served"] == 1 for r in rows)
    for row in rows:
        (variant, version), = seen[row["client_id"]]
        assert (row["variant"], row["model_version"]) == (variant, version)
        assert row["parent_prediction_id"] is None
        assert row["mode"] == "split"  # the split period is what split statistics count


def test_split_without_challenger_answers_with_the_champion(serving_settings: Settings) -> None:
    with TestClient(create_app(with_traffic(serving_settings, "split", share=1.0))) as client:
        body = client.post("/v1/california/predict", json=CALIFORNIA,
                           headers={"X-Client-Id": "x"}).json()
        assert (body["variant"], body["model_version"]) == ("champion", "1")


def test_failing_challenger_in_split_falls_back_to_the_champion(
        challenger_home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(with_traffic(challenger_home, "split", share=1.0))) as client:
        challenger = client.app.state.context.store.get("california", CHALLENGER)
        monkeypatch.setattr(challenger.predictor, "predict", _raise)
        answer = client.post("/v1/california/predict", json=CALIFORNIA)
        assert answer.status_code == 200
        assert (answer.json()["variant"], answer.json()["model_version"]) == ("champion", "1")
        assert counter(client, "homeprice_challenger_failures_total",
                       dataset="california", mode="split") == 1


def _raise(columns: object) -> None:
    raise RuntimeError("challenger exploded")


# -- shadow ---------------------------------------------------------------------------------------
def test_shadow_logs_the_challenger_beside_each_served_prediction(
        challenger_home: Settings, served_home: Path) -> None:
    settings = with_traffic(challenger_home, "shadow")
    with TestClient(create_app(settings)) as client:
        one = client.post("/v1/california/predict", json=CALIFORNIA,
                          headers={"X-Client-Id": "alice"}).json()
        many = client.post("/v1/california/predict",
                           json={"instances": [CALIFORNIA] * 3}).json()["predictions"]
        answers = [one, *many]
        assert {(a["variant"], a["model_version"]) for a in answers} == {("champion", "1")}
        assert client.post("/v1/california/feedback", headers=FEEDBACK_AUTH, json={
            "prediction_id": one["prediction_id"], "actual_price": 420_000}).status_code == 200
    assert counter(client, "homeprice_shadow_predictions_total", dataset="california") == 4

    rows = log_rows(served_home)
    served = {r["prediction_id"]: r for r in rows if r["served"]}
    shadow = [r for r in rows if not r["served"]]
    assert set(served) == {a["prediction_id"] for a in answers}
    assert len(shadow) == 4
    assert sorted(r["parent_prediction_id"] for r in shadow) == sorted(served)
    for row in shadow:
        parent = served[row["parent_prediction_id"]]
        assert (row["variant"], row["model_version"]) == ("shadow", "2")
        assert row["request_id"] == parent["request_id"]
        assert row["features"] == parent["features"]
        assert row["client_id"] == parent["client_id"]
        assert row["prediction_id"] not in served
        assert row["mode"] == parent["mode"] == "shadow"
    assert all((r["variant"], r["model_version"]) == ("champion", "1") for r in served.values())

    log = PredictionLog(settings.log_url)
    try:
        labelled = log.labelled("california").set_index("prediction_id")
    finally:
        log.close()
    shadow_of_one = next(r for r in shadow if r["parent_prediction_id"] == one["prediction_id"])
    assert set(labelled.index) == {one["prediction_id"], shadow_of_one["prediction_id"]}
    row = labelled.loc[shadow_of_one["prediction_id"]]
    assert (row["variant"], row["actual_price"]) == ("shadow", 420_000.0)
    assert row["parent_prediction_id"] == one["prediction_id"]
    assert row["mode"] == "shadow"  # labelled rows carry their mode to ab evaluate


def test_the_shadow_backlog_is_bounded_in_homes_not_jobs() -> None:
    pool = ShadowPool(workers=1, max_rows=1000)
    release = threading.Event()

    def blocked() -> None:
        assert release.wait(30), "never released"

    try:
        assert pool.submit(blocked, rows=600)
        # Two jobs only, but 1,200 homes: refused.
        assert not pool.submit(lambda: None, rows=600)
        assert pool.submit(lambda: None, rows=400)
        assert pool.pending == 1000
        assert not pool.submit(lambda: None, rows=1)
    finally:
        release.set()
        pool.close()
    assert pool.pending == 0
    with pytest.raises(ValueError, match="max_rows"):
        ShadowPool(max_rows=0)


def test_a_batch_larger_than_the_shadow_backlog_is_skipped_and_counted(
        challenger_home: Settings, served_home: Path) -> None:
    settings = with_traffic(challenger_home, "shadow")
    settings = settings.model_copy(update={"serving": settings.serving.model_copy(
        update={"shadow_max_rows": 500})})
    with TestClient(create_app(settings)) as client:
        batch = client.post("/v1/california/predict", json={"instances": [CALIFORNIA] * 600})
        assert batch.status_code == 200
        small = client.post("/v1/california/predict", json={"instances": [CALIFORNIA] * 3})
        assert small.status_code == 200
    assert counter(client, "homeprice_shadow_skipped_total", dataset="california") == 600
    assert counter(client, "homeprice_shadow_predictions_total", dataset="california") == 3
    assert sum(not r["served"] for r in log_rows(served_home)) == 3


def test_shadow_scoring_is_not_awaited(challenger_home: Settings,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    release, started = threading.Event(), threading.Event()
    with TestClient(create_app(with_traffic(challenger_home, "shadow"))) as client:
        challenger = client.app.state.context.store.get("california", CHALLENGER)
        predict = challenger.predictor.predict

        def blocked(columns: Any) -> Any:
            started.set()
            assert release.wait(30), "never released"
            return predict(columns)

        monkeypatch.setattr(challenger.predictor, "predict", blocked)
        # The challenger is stuck, yet the client has its answer.
        answer = client.post("/v1/california/predict", json=CALIFORNIA)
        assert answer.status_code == 200 and answer.json()["variant"] == "champion"
        assert started.wait(10)
        assert client.app.state.context.shadow.pending == 1
        release.set()
    assert counter(client, "homeprice_shadow_predictions_total", dataset="california") == 1


def test_failing_challenger_in_shadow_does_not_touch_the_answer(
        challenger_home: Settings, served_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(with_traffic(challenger_home, "off"))) as client:  # reference
        reference = client.post("/v1/california/predict", json=CALIFORNIA).json()
    with TestClient(create_app(with_traffic(challenger_home, "shadow"))) as client:
        challenger = client.app.state.context.store.get("california", CHALLENGER)
        monkeypatch.setattr(challenger.predictor, "predict", _raise)
        answers = [client.post("/v1/california/predict", json=CALIFORNIA) for _ in range(3)]
    assert all(a.status_code == 200 for a in answers)
    for answer in answers:
        body = answer.json()
        assert {k: body[k] for k in ("price", "lower", "upper", "variant", "model_version")} == {
            k: reference[k] for k in ("price", "lower", "upper", "variant", "model_version")}
    assert counter(client, "homeprice_challenger_failures_total",
                   dataset="california", mode="shadow") == 3
    assert counter(client, "homeprice_shadow_predictions_total", dataset="california") == 0
    assert all(r["served"] for r in log_rows(served_home))


# -- admin ----------------------------------------------------------------------------------------
@pytest.fixture
def admin(challenger_home: Settings) -> Iterator[TestClient]:
    """A started app with a challenger loaded and admin enabled."""
    settings = with_traffic(challenger_home, "off", token="s3cret-0123456789")
    with TestClient(create_app(settings)) as client:
        yield client


def test_admin_switches_traffic_at_run_time(admin: TestClient) -> None:
    assert admin.get("/v1/models").json()["california"]["traffic"] == {
        "mode": "off", "share": 0.2, "effective": "off"}
    # Bengaluru is not named in the settings: auto, with the default share; with no challenger
    # loaded it routes as off.
    assert admin.get("/v1/models").json()["bengaluru"]["traffic"] == {
        "mode": "auto", "share": 0.2, "effective": "off"}
    changed = admin.post("/v1/admin/california/traffic", headers=AUTH,
                         json={"mode": "split", "share": 1.0})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"dataset": "california", "mode": "split", "share": 1.0,
                              "effective": "split", "challenger_loaded": True}
    body = admin.post("/v1/california/predict", json=CALIFORNIA).json()
    assert (body["variant"], body["model_version"]) == ("challenger", "2")
    # Only the mode: the share stays.
    shadow = admin.post("/v1/admin/california/traffic", headers=AUTH, json={"mode": "shadow"})
    assert shadow.json()["share"] == 1.0 and shadow.json()["mode"] == "shadow"
    assert admin.post("/v1/california/predict", json=CALIFORNIA).json()["variant"] == "champion"
    assert admin.get("/v1/models").json()["california"]["traffic"] == {
        "mode": "shadow", "share": 1.0, "effective": "shadow"}
    off = admin.post("/v1/admin/bengaluru/traffic", headers=AUTH, json={"mode": "split"})
    assert off.json()["challenger_loaded"] is False and off.json()["effective"] == "off"
    # Auto over the API: shadow while California's challenger is loaded.
    auto = admin.post("/v1/admin/california/traffic", headers=AUTH, json={"mode": "auto"})
    assert auto.status_code == 200, auto.text
    assert (auto.json()["mode"], auto.json()["effective"]) == ("auto", "shadow")
    assert admin.post("/v1/california/predict", json=CALIFORNIA).json()["variant"] == "champion"


@pytest.mark.parametrize("body", [{"mode": "half"}, {"mode": "split", "share": 1.5},
                                  {"mode": "split", "share": -0.1}, {"share": 0.3},
                                  {"mode": "split", "share": "lots"},
                                  {"mode": "off", "colour": "red"}])
def test_admin_traffic_validation(admin: TestClient, body: dict) -> None:
    response = admin.post("/v1/admin/california/traffic", headers=AUTH, json=body)
    assert response.status_code == 422, response.text
    assert admin.get("/v1/models").json()["california"]["traffic"]["mode"] == "off"


def test_admin_traffic_auth_and_unknown_dataset(admin: TestClient,
                                                challenger_home: Settings) -> None:
    body = {"mode": "shadow"}
    assert admin.post("/v1/admin/california/traffic", json=body).status_code == 401
    assert admin.post("/v1/admin/california/traffic", json=body,
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert admin.post("/v1/admin/atlantis/traffic", json=body, headers=AUTH).status_code == 404
    assert admin.get("/v1/models").json()["california"]["traffic"]["mode"] == "off"
    with TestClient(create_app(challenger_home)) as disabled:  # no admin token
        assert disabled.post("/v1/admin/california/traffic", json=body).status_code == 403
