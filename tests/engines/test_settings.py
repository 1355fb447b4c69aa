"""The Spark engine takes its master and driver memory from the settings (environment and
YAML alike), and a bad memory size is refused with the setting's name; no JVM is started."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from homeprice.config import load_settings
from homeprice.engines import engine_for

pytest.importorskip("pyspark")


def test_spark_master_and_driver_memory_come_from_the_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_SPARK_MASTER", "spark://127.0.0.1:7077")
    monkeypatch.setenv("HOMEPRICE_SPARK_DRIVER_MEMORY", "6g")
    engine = engine_for("spark", load_settings())
    assert (engine.master, engine.driver_memory) == ("spark://127.0.0.1:7077", "6g")


def test_the_defaults_are_local_and_two_gigabytes() -> None:
    engine = engine_for("spark", load_settings())
    assert (engine.master, engine.driver_memory) == ("local[*]", "2g")
    assert engine_for("local", load_settings()).name == "local"


@pytest.mark.parametrize("size", ["2 GB", "0g", "-1g", "lots", "2gb"])
def test_a_bad_driver_memory_names_the_setting(monkeypatch: pytest.MonkeyPatch,
                                               size: str) -> None:
    monkeypatch.setenv("HOMEPRICE_SPARK_DRIVER_MEMORY", size)
    with pytest.raises(ValidationError, match="spark_driver_memory"):
        load_settings()
