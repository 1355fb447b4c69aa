"""`registry.list_versions`: every field of a listed version, its aliases and the order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from homeprice import registry, tracking
from tests.support.aliasmoves import DATASET, registered_versions


def test_listed_versions_carry_exact_fields_newest_first(tmp_path: Path) -> None:
    """Guards what `models list` and the UI show: each field under its name with the value
    stored on the version, every alias of a version (sorted), newest version first."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registered_versions(uri, 3)
    client = tracking.registry_client(uri)
    name = registry.model_name(DATASET)
    client.set_registered_model_alias(name, registry.CHAMPION, "1")
    client.set_registered_model_alias(name, registry.CHALLENGER, "1")
    client.set_model_version_tag(name, "2", "gate", "kept as challenger: rmse FAILED")
    client.set_model_version_tag(name, "2", "data_sha256", "ab" * 32)

    rows = registry.list_versions(client, DATASET)

    assert [row["version"] for row in rows] == ["3", "2", "1"]
    second = client.get_model_version(name, "2")
    assert rows[1] == {
        "version": "2", "aliases": [],
        "created": datetime.fromtimestamp(second.creation_timestamp / 1000, UTC)
        .isoformat(timespec="seconds"),
        "run_id": second.run_id, "candidate": "x", "metrics": {"rmse": 49_999.0},
        "gate": "kept as challenger: rmse FAILED", "gate_outcome": None,
        "data_sha256": "ab" * 32,
        # Gated before the outcome tag existed: the summary's lead says the gate failed.
        "stage": "gate failed", "stage_detail": "rmse FAILED"}
    assert rows[2]["aliases"] == ["challenger", "champion"]
    assert rows[0]["gate"] is None and rows[0]["data_sha256"] is None
    assert registry.list_versions(client, "bengaluru") == []
