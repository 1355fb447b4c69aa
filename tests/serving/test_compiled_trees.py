"""Compiled trees: built in a background process, cached per model, checked before use."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from homeprice.config import Settings
from homeprice.serving import lgbmrow
from homeprice.serving.compiledtrees import CompiledTrees, TreeCompiler, cache_key
from homeprice.serving.fastpath import FastPredictor
from homeprice.serving.metrics import ServingMetrics
from homeprice.serving.modelstore import ModelStore


def _booster(seed: int) -> lgb.Booster:
    """A small regression booster (seconds to compile) on data with missing values."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 5))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = 2 * np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 2]) ** 2 + rng.normal(size=400)
    return lgb.train({"objective": "regression", "num_leaves": 7, "verbose": -1,
                      "num_threads": 1}, lgb.Dataset(X, y), num_boost_round=15)


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    return _booster(3)


def _rows(n: int = 200) -> np.ndarray:
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(n, 5))
    Z[rng.random(Z.shape) < 0.1] = np.nan
    return Z


def _built(compiler: TreeCompiler, booster: lgb.Booster, seconds: float = 240) -> CompiledTrees:
    """Ask until the background compile has produced the trees."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        trees = compiler.compiled(booster)
        if trees is not None:
            return trees
        time.sleep(0.2)
    pytest.fail(f"no compiled trees within {seconds:g} s")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, booster: lgb.Booster) -> Path:
    """A cache folder holding the compiled trees of `booster` (one compile per module)."""
    folder = tmp_path_factory.mktemp("compiled-trees")
    _built(TreeCompiler(folder), booster)
    return folder


def test_the_background_compile_gives_the_boosters_answers(booster: lgb.Booster,
                                                           tmp_path: Path) -> None:
    compiler = TreeCompiler(tmp_path)
    # Not built yet: the answer is at once, and a compile runs in a child process.
    assert compiler.compiled(booster) is None
    assert len(compiler._children) == 1
    trees = _built(compiler, booster)
    Z = _rows()
    np.testing.assert_allclose(trees.predict(Z), booster.predict(Z), rtol=1e-12, atol=1e-12)
    # One row, a strided float32 view and no rows at all.
    np.testing.assert_allclose(trees.predict(Z[7:8]), booster.predict(Z[7:8]), rtol=1e-12)
    strided = np.asfortranarray(Z[::3]).astype(np.float32)
    np.testing.assert_allclose(trees.predict(strided), booster.predict(strided), rtol=1e-12)
    assert trees.predict(np.empty((0, 5))).shape == (0,)
    with pytest.raises(ValueError, match=r"5 feature columns, got shape \(1, 4\)"):
        trees.predict(np.zeros((1, 4)))
    # Only the finished files are left: no partial object or model text.
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".lock", ".o", ".sha256", ".txt"]


def test_a_cached_model_loads_at_once_and_another_model_has_its_own_key(
        booster: lgb.Booster, cache: Path) -> None:
    compiler = TreeCompiler(cache)
    trees = compiler.compiled(booster)
    assert trees is not None and not compiler._children  # loaded, nothing compiled
    other = _booster(4)
    assert cache_key(other.model_to_string()) != cache_key(booster.model_to_string())
    assert cache_key(booster.model_to_string()) == cache_key(booster.model_to_string())


def test_a_damaged_cached_object_is_never_loaded_but_compiled_again(
        booster: lgb.Booster, cache: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    key = cache_key(booster.model_to_string())
    for suffix in (".txt", ".sha256"):
        (tmp_path / f"{key}{suffix}").write_bytes((cache / f"{key}{suffix}").read_bytes())
    # Damaged after it was written (LLVM would abort the server on loading it).
    (tmp_path / f"{key}.o").write_bytes(b"not an object file")
    compiler = TreeCompiler(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert compiler.compiled(booster) is None
    assert "damaged" in caplog.text and len(compiler._children) == 1
    trees = _built(compiler, booster)
    Z = _rows()
    np.testing.assert_allclose(trees.predict(Z), booster.predict(Z), rtol=1e-12, atol=1e-12)


def test_a_failed_compile_is_reported_and_not_retried(
        booster: lgb.Booster, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The model text the child compiles is unreadable: the child fails, and the server keeps
    # LightGBM's own trees.
    key = cache_key(booster.model_to_string())
    (tmp_path / f"{key}.txt").write_text("tree\nnot a model\n")
    compiler = TreeCompiler(tmp_path)
    assert compiler.compiled(booster) is None
    compiler._children[key].wait(timeout=120)
    with caplog.at_level(logging.WARNING):
        assert compiler.compiled(booster) is None
    assert "compiling trees" in caplog.text and "failed" in caplog.text
    assert compiler.compiled(booster) is None and not compiler._children
    assert not (tmp_path / f"{key}.o").exists()


def test_a_cache_folder_that_cannot_be_written_leaves_lightgbm_in_use(
        booster: lgb.Booster, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    compiler = TreeCompiler(blocked / "compiled-trees")
    with caplog.at_level(logging.WARNING):
        assert compiler.compiled(booster) is None
    assert "cannot compile trees" in caplog.text and not compiler._children
    assert compiler.compiled(booster) is None


def test_the_fast_path_takes_compiled_trees_above_the_single_row_size(
        trained: Settings, booster: lgb.Booster) -> None:
    from homeprice import registry, tracking

    tracking.configure(trained)
    fast = FastPredictor(registry.load_model("california", "1"))
    width = fast.booster.num_feature()
    Z = np.random.default_rng(1).normal(size=(lgbmrow.MAX_ROWS + 1, width))
    fast.rows = lgbmrow.RowPredictor(fast.booster)
    calls: list[int] = []

    class Counting:
        def predict(self, matrix: np.ndarray) -> np.ndarray:
            calls.append(len(matrix))
            return fast.booster.predict(matrix)

    fast.trees = Counting()  # type: ignore[assignment]
    fast.point(Z[:1])
    fast.point(Z)
    assert calls == [lgbmrow.MAX_ROWS + 1]


class _Stand:
    """Stands in for built trees: the booster's answers times `factor`."""

    def __init__(self, booster: lgb.Booster, factor: float) -> None:
        self.booster, self.factor = booster, factor

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return self.booster.predict(Z) * self.factor


@pytest.mark.parametrize("factor, used", [(1.0, True), (1.001, False)])
def test_the_store_swaps_in_compiled_trees_only_if_they_agree_with_the_pipeline(
        serving_settings: Settings, monkeypatch: pytest.MonkeyPatch, factor: float,
        used: bool) -> None:
    settings = serving_settings.model_copy(deep=True)
    settings.serving.compiled_trees = True
    store = ModelStore(settings, ServingMetrics(settings.reports_dir, settings.serving.datasets))
    built: list[object] = []
    # Not built at the first load; built by the next poll.
    monkeypatch.setattr(store.compiler, "compiled",
                        lambda booster: built[0] if built else None)
    store.refresh()
    first = store.get("california")
    assert first is not None and first.predictor.trees is None and first.reference is not None
    built.append(_Stand(first.predictor.booster, factor))
    store.refresh()
    second = store.get("california")
    assert second.reference is None  # decided once
    assert second.compiled_trees is used
    assert store.snapshot()["california"]["champion"]["compiled_trees"] is used
    if used:
        assert second is not first and second.predictor.trees is built[0]
        assert first.predictor.trees is None  # the old one, held by requests, is untouched
    else:
        assert second.predictor.trees is None
    store.refresh()
    assert store.get("california") is second
