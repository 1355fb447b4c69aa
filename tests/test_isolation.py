"""The suite's isolation: private homes are private, and nothing is written into the checkout."""

from __future__ import annotations

from pathlib import Path

import mlflow

from homeprice import tracking
from homeprice.config import Settings
from tests.support import repoguard
from tests.support.paths import files_under


def test_a_served_copy_logs_artifacts_into_itself(serving_settings: Settings, served_home: Path,
                                                   trained_home: Path, tmp_path: Path) -> None:
    """Guards the copy's paths: MLflow's recorded artifact locations moved with it, so a run
    logged through the copy lands in the copy and the shared trained home stays untouched."""
    before = files_under(trained_home)
    client = tracking.configure(serving_settings)
    note = tmp_path / "note.txt"
    note.write_text("private")
    experiment = tracking.experiment_id(client, "california", serving_settings)
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_artifact(str(note))
    assert files_under(trained_home) == before
    [logged] = [p for p in files_under(served_home) if p.name == "note.txt"]
    assert run.info.run_id in logged.parts
    # The lake's manifests name the copy's files too.
    manifests = list((served_home / "lake").rglob("manifest.json"))
    assert manifests and all(str(trained_home) not in p.read_text() for p in manifests)


def test_the_repository_guard_sees_new_folders_and_files_not_edits(tmp_path: Path) -> None:
    """Guards the guard: a new folder (mlruns/) or a new data file is a leak wherever it is; a
    changed file or a new module in an existing folder is a developer's edit."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    before = repoguard.snapshot(tmp_path)
    (tmp_path / "src" / "a.py").write_text("x = 2\n")
    (tmp_path / "src" / "b.py").write_text("y = 1\n")
    assert repoguard.leaked(before, repoguard.snapshot(tmp_path)) == []
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("{}")
    (tmp_path / "src" / "predictions.db").write_bytes(b"")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"")
    assert repoguard.leaked(before, repoguard.snapshot(tmp_path)) == [
        "mlruns/0/meta.yaml", "src/predictions.db"]
