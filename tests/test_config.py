"""Settings: YAML defaults, HOMEPRICE_* overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from homeprice.config import load_settings


def test_yaml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "custom.yaml"
    config.write_text("home: /tmp/from-yaml\nsplit:\n  seed: 11\n")
    monkeypatch.setenv("HOMEPRICE_CONFIG", str(config))
    monkeypatch.delenv("HOMEPRICE_HOME", raising=False)
    settings = load_settings()
    assert settings.home == Path("/tmp/from-yaml")
    assert settings.split.seed == 11
    assert settings.split.train == 0.7  # untouched keys keep their defaults
    monkeypatch.setenv("HOMEPRICE_SPLIT__SEED", "99")
    monkeypatch.setenv("HOMEPRICE_HOME", str(tmp_path))
    settings = load_settings()
    assert settings.split.seed == 99
    assert settings.home == tmp_path
    assert settings.lake_root == str(tmp_path / "lake")


def test_bad_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_DATASETS__BENGALURU__MIN_SQFT_PER_BEDROOM", "-3")
    with pytest.raises(ValidationError, match="min_sqft_per_bedroom"):
        load_settings()


def test_repository_yaml_matches_code_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """config/homeprice.yaml documents the defaults; it must not silently diverge from them."""
    from homeprice.config import Settings

    for name in ("HOMEPRICE_CONFIG", "HOMEPRICE_HOME", "HOMEPRICE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings().resolved() == Settings.model_construct().model_dump(mode="json")
