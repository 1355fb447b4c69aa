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


def _update_manifests(root: str, worker: int, updates: int) -> None:
    """One process's fetches and cleans: each adds its own raw entry and clean version."""
    lake = Lake(root)
    frame = pd.DataFrame({"a": ["1"]})
    for i in range(updates):
        lake.write_raw("demo", f"sha-{worker}-{i}", frame, f"source-{worker}-{i}.csv")
        lake.write_clean("demo", f"v-{worker}-{i}", pd.DataFrame({"a": [1.0]}),
                         {"raw_sha256": f"sha-{worker}-{i}"})


def test_concurrent_processes_lose_no_manifest_update(tmp_path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    root, workers, updates = str(tmp_path / "lake"), 6, 15
    # fork: the workers start at once, without re-importing pandas each.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for done in [pool.submit(_update_manifests, root, w, updates) for w in range(workers)]:
            done.result()
    lake = Lake(root)
    expected = {f"{w}-{i}" for w in range(workers) for i in range(updates)}
    assert {k.removeprefix("sha-") for k in lake.raw_manifest("demo")["entries"]} == expected
    clean = lake._read_json(lake._path("clean", "demo", "manifest.json"))
    assert {k.removeprefix("v-") for k in clean["versions"]} == expected
    assert not [p for p in lake.fs.find(lake.root) if ".tmp-" in p]


def test_a_stuck_manifest_lock_is_a_clear_error(tmp_path, monkeypatch) -> None:
    from filelock import FileLock

    from homeprice.data import lake as lake_module

    monkeypatch.setattr(lake_module, "MANIFEST_LOCK_TIMEOUT", 0.1)
    lake = Lake(str(tmp_path / "lake"))
    lake.write_raw("demo", "abc", pd.DataFrame({"a": ["1"]}), "s")
    # Another holder of the manifest's lock (a lock file of its own: flock is per open file).
    with FileLock(lake._path("raw", "demo", "manifest.json") + ".lock"), \
            pytest.raises(LakeError, match="stayed locked .* delete the lock file"):
        lake.write_raw("demo", "def", pd.DataFrame({"a": ["2"]}), "t")
    assert set(lake.raw_manifest("demo")["entries"]) == {"abc"}


def test_documents_tables_and_removal_in_other_zones(lake: Lake) -> None:
    assert lake.read_document("scrape", "demo", "state.json") == {}
    lake.write_document({"seen": ["a"]}, "scrape", "demo", "state.json")
    assert lake.read_document("scrape", "demo", "state.json") == {"seen": ["a"]}
    url = lake.write_table(pd.DataFrame({"id": ["a"]}), "quarantine", "demo", "run.parquet")
    assert url.endswith("quarantine/demo/run.parquet")
    assert list(lake.read_table("quarantine", "demo", "run.parquet")["id"]) == ["a"]
    lake.remove("scrape", "demo")
    assert not lake.exists("scrape", "demo", "state.json") and lake.exists("quarantine", "demo")
    lake.remove("scrape", "demo")  # absent: nothing to do


def test_an_exclusive_hold_refuses_a_second_holder(lake: Lake) -> None:
    with lake.exclusive("scrape", "demo", "run"):
        with pytest.raises(LakeError, match="in use by another process"):
            with lake.exclusive("scrape", "demo", "run"):
                pass
    with lake.exclusive("scrape", "demo", "run"):  # released
        pass
