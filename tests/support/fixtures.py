"""Fixtures every test folder may use (registered by tests/conftest.py as a pytest plugin):
temporary homes over copies of the real data, a home trained once per session, apps and
servers over private copies of it, a webhook receiver and the prediction log back ends."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from filelock import FileLock

from homeprice import tracking
from homeprice.api import create_api
from homeprice.config import Settings, load_settings
from homeprice.datasets import DATASETS
from tests.support import repoguard
from tests.support.homecopy import copy_home
from tests.support.paths import REPO, SHARED_DATA
from tests.support.postgres import fresh_pg_database
from tests.support.tokens import FEEDBACK_TOKEN


@pytest.fixture(scope="session")
def _repository_files() -> dict[str, repoguard.Snapshot]:
    """The repository's files when the session started (updated after each reported leak)."""
    return {"files": repoguard.snapshot(REPO)}


@pytest.fixture(autouse=True)
def nothing_written_into_the_repository(_repository_files: dict[str, repoguard.Snapshot]
                                        ) -> Iterator[None]:
    """Fail the test (in teardown, naming the files) that wrote into the checkout, wherever
    pytest runs from. Mutation testing runs the suite inside its own copy, which it writes into
    as it goes, so the check is off there."""
    yield
    if "MUTANT_UNDER_TEST" in os.environ:
        return
    after = repoguard.snapshot(REPO)
    leaked = repoguard.leaked(_repository_files["files"], after)
    _repository_files["files"] = after  # report each leak once, against the test that made it
    if leaked:
        pytest.fail(f"this test wrote into the repository {REPO}: {', '.join(leaked[:10])}")


def _shared_once(tmp_path_factory: pytest.TempPathFactory, name: str,
                 build: Callable[[Path], None]) -> Path:
    """`name` built by `build` once per test run: under pytest-xdist, in the folder every worker
    shares, by the first worker to get there while the others wait on a file lock (training the
    session's models once, not once per worker); without xdist, in this session's temp folder.
    A build that failed leaves no completion mark, so the next worker tries again."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        target = tmp_path_factory.mktemp(name)
        build(target)
        return target
    root = tmp_path_factory.getbasetemp().parent  # shared by the workers of this run
    target, done = root / name, root / f"{name}.complete"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            done.touch()
    return target


def _copy_data(target: Path) -> None:
    for name, dataset in DATASETS.items():
        shared = SHARED_DATA / name
        source = shared if shared.is_dir() else dataset.sample_path.parent
        shutil.copytree(source, target / name)
        for path in (target / name).iterdir():
            path.chmod(0o644)


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp copy of ../shared/data (each dataset's bundled sample when it is absent), a folder
    per known dataset; never modified (so xdist workers share one)."""
    return _shared_once(tmp_path_factory, "data", _copy_data)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_data_dir: Path) -> Path:
    """A fresh HOMEPRICE_HOME, with HOMEPRICE_DATA_DIR on the copied real data."""
    path = tmp_path / "home"
    monkeypatch.setenv("HOMEPRICE_HOME", str(path))
    monkeypatch.setenv("HOMEPRICE_DATA_DIR", str(real_data_dir))
    for name in ("HOMEPRICE_LAKE_URL", "HOMEPRICE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings bound to the temporary home."""
    return load_settings()


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory, real_data_dir: Path) -> Path:
    """A HOMEPRICE_HOME where the fast-budget pipeline ran for both datasets (trained once per
    run; under xdist each worker gets its own copy, so a worker's tests never see another's
    writes, as in a run without xdist)."""
    from homeprice.pipeline import run_pipeline

    def train(folder: Path) -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HOMEPRICE_HOME", str(folder / "home"))
            patch.setenv("HOMEPRICE_DATA_DIR", str(real_data_dir))
            patch.delenv("MLFLOW_TRACKING_URI", raising=False)
            run_pipeline("all", load_settings(), "fast")

    trained = _shared_once(tmp_path_factory, "trained", train) / "home"
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return trained
    return copy_home(trained, tmp_path_factory.mktemp("trained") / "home")


@pytest.fixture
def trained(trained_home: Path, monkeypatch: pytest.MonkeyPatch, real_data_dir: Path) -> Settings:
    """Settings bound to the trained home (do not change its registry in tests)."""
    monkeypatch.setenv("HOMEPRICE_HOME", str(trained_home))
    monkeypatch.setenv("HOMEPRICE_DATA_DIR", str(real_data_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return load_settings()


@pytest.fixture
def served_home(trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained home (registry and log may change freely); its apps and
    servers take feedback with FEEDBACK_TOKEN (tests/support/tokens.py)."""
    home = copy_home(trained_home, tmp_path / "home",
                     ignore=shutil.ignore_patterns("predictions.db*"))
    monkeypatch.setenv("HOMEPRICE_HOME", str(home))
    for name in ("MLFLOW_TRACKING_URI", "HOMEPRICE_LOG_DB_URL", "HOMEPRICE_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOMEPRICE_FEEDBACK_TOKEN", FEEDBACK_TOKEN)
    return home


@pytest.fixture
def serving_settings(served_home: Path) -> Settings:
    """Settings of the private home, with MLflow pointed at it (its state is process-global)."""
    settings = load_settings()
    tracking.configure(settings)
    return settings


@pytest.fixture
def client(serving_settings: Settings) -> Iterator[TestClient]:
    """A started app (models loaded, log running) over the private home."""
    with TestClient(create_api(serving_settings)) as test_client:
        yield test_client


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """A receiver on 127.0.0.1; HOMEPRICE_WEBHOOK_URL points at it."""
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HOMEPRICE_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/")
    yield received
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def log_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[str]:
    """The prediction log: SQLite in the home, or a fresh PostgreSQL database
    (HOMEPRICE_LOG_DB_URL points at it)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    with fresh_pg_database("homeprice_e2e") as url:
        monkeypatch.setenv("HOMEPRICE_LOG_DB_URL", url)
        yield url
