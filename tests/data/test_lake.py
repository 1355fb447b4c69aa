"""The lake: content-addressed raw zone, versioned clean zone, atomic writes, any fsspec URL."""

from __future__ import annotations

import pandas as pd
import pytest

from homeprice.data.lake import Lake
from homeprice.errors import LakeError


@pytest.fixture(params=["local", "memory"])
def lake(request: pytest.FixtureRequest, tmp_path) -> Lake:
    if request.param == "local":
        return Lake(str(tmp_path / "lake"))
    return Lake(f"memory://lake-{tmp_path.name}")


def test_same_content_is_stored_once(lake: Lake) -> None:
    frame = pd.DataFrame({"a": ["1", None], "b": ["x", "y"]})
    first = lake.write_raw("demo", "abc123", frame, "one.csv")
    second = lake.write_raw("demo", "abc123", frame, "copy-of-one.csv")
    files = [p for p in lake.fs.find(lake.root) if p.endswith(".parquet")]
    assert len(files) == 1
    assert first["fetched_at"] == second["fetched_at"]
    assert second["sources"] == ["one.csv", "copy-of-one.csv"]
    assert lake.raw_entry("demo")["rows"] == 2
    back = lake.read_raw("demo", "abc123")
    assert back.loc[0, "a"] == "1" and back.loc[1, "a"] is None


def test_no_temporary_files_remain(lake: Lake) -> None:
    lake.write_raw("demo", "abc", pd.DataFrame({"a": ["1"]}), "s")
    lake.write_clean("demo", "v1", pd.DataFrame({"a": [1.0]}), {"raw_sha256": "abc"})
    assert not [p for p in lake.fs.find(lake.root) if ".tmp-" in p]


def test_clean_versions_and_latest(lake: Lake) -> None:
    lake.write_clean("demo", "v1", pd.DataFrame({"a": [1.0]}), {"raw_sha256": "r1"})
    lake.write_clean("demo", "v2", pd.DataFrame({"a": [2.0, 3.0]}), {"raw_sha256": "r2"})
    assert lake.clean_entry("demo")["version"] == "v2"
    assert lake.clean_entry("demo", "v1")["rows"] == 1
    assert lake.clean_report("demo", "v1") == {"raw_sha256": "r1"}
    assert lake.read_clean("demo", "v2")["a"].tolist() == [2.0, 3.0]


def test_missing_data_is_a_clear_error(lake: Lake) -> None:
    with pytest.raises(LakeError, match="homeprice data fetch --dataset demo"):
        lake.raw_entry("demo")
    with pytest.raises(LakeError, match="homeprice data clean --dataset demo"):
        lake.clean_entry("demo")
