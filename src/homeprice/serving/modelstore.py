"""Loaded models per dataset and alias, with smoke-tested hot reload.

A model is loaded off the event loop, smoke-tested on the test sample stored with its run
(finite predictions in a plausible range, intervals around them), compiled to the fast path
(kept only if it agrees with the pipeline), and only then swapped in; so is the same model
again once its compiled trees are built and checked. Readers take a reference to an immutable
LoadedModel, so a swap never breaks a request in flight.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from homeprice import artifacts, registry, tracking
from homeprice.config import Settings
from homeprice.datasets import get_dataset
from homeprice.errors import HomepriceError
from homeprice.serving import heap, readiness
from homeprice.serving.compiledtrees import TreeCompiler
from homeprice.serving.fastpath import FastPredictor, PipelinePredictor, max_relative_difference
from homeprice.serving.metrics import ServingMetrics

log = logging.getLogger(__name__)
ALIASES = (registry.CHAMPION, registry.CHALLENGER)


class SmokeTestFailed(Exception):
    """A model version must not be served."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve."""

    dataset: str
    alias: str
    version: str
    model: Any
    predictor: FastPredictor | PipelinePredictor
    loaded_at: str
    metrics: dict[str, float] = field(default_factory=dict)
    fast_path_max_rel_diff: float | None = None
    # The stored test sample and the pipeline's (prediction, lower, upper) on it: what a fast
    # path with compiled trees is checked against before it replaces `predictor`.
    reference: tuple[pd.DataFrame, Any] | None = field(default=None, repr=False)

    @property
    def fast(self) -> bool:
        """Whether requests go through the compiled fast path."""
        return self.predictor.fast

    @property
    def compiled_trees(self) -> bool:
        """Whether requests above a few rows go through the model's compiled trees."""
        return isinstance(self.predictor, FastPredictor) and self.predictor.trees is not None


def _test_sample(client: MlflowClient, dataset: str, version: str) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = registry.download_version_artifact(client, dataset, version,
                                                      artifacts.TEST_SAMPLE, tmp)
        except HomepriceError as error:  # no stored test sample means: cannot smoke-test
            raise SmokeTestFailed(f"no stored test sample: {error}") from None
        return pd.read_parquet(Path(path))


def smoke_test(dataset_name: str, model: Any, sample: pd.DataFrame
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite predictions within a plausible range, with intervals around them.

    Returns the pipeline's (prediction, lower, upper) on the sample, which the fast path is
    then checked against.
    """
    dataset = get_dataset(dataset_name)
    X = sample[list(dataset.feature_columns)]
    try:
        Z = model[:-1].transform(X)
        prediction, lower, upper = model[-1].predict_interval(Z)
        # The wrapped estimator's own predictions, before any clipping to the training range:
        # clipping would make a broken model (say, a constant -1e12) look plausible.
        raw = np.asarray(model[-1].estimator_.predict(Z), dtype=float)
    except Exception as error:  # noqa: BLE001 - a model that cannot predict is not served
        raise SmokeTestFailed(f"predicting the test sample failed: {error}") from None
    if not all(np.isfinite(values).all() for values in (prediction, lower, upper, raw)):
        raise SmokeTestFailed("non-finite predictions on the test sample")
    actual = sample[dataset.target].to_numpy(dtype=float)
    low, high = 0.0, 10 * float(np.nanmax(actual))
    if raw.min() < low or raw.max() > high:
        raise SmokeTestFailed(f"predictions outside the plausible range [{low:g}, {high:g}]: "
                              f"{raw.min():.4g} .. {raw.max():.4g}")
    if not ((lower <= prediction) & (prediction <= upper)).all():
        raise SmokeTestFailed("intervals do not contain their predictions")
    return prediction, lower, upper


class ModelStore:
    """The models a server answers with, per dataset and alias."""

    def __init__(self, settings: Settings, metrics: ServingMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.datasets = list(settings.serving.datasets)
        self._models: dict[tuple[str, str], LoadedModel] = {}
        self._reload_lock = threading.Lock()  # one reload at a time; readers never wait
        self.last_errors: dict[tuple[str, str], str] = {}
        # Why an alias has nothing loaded besides a failed load: its registry lookup failed
        # (retried every poll), or the registry has no such alias.
        self._lookup_failed: set[tuple[str, str]] = set()
        self._unregistered: set[tuple[str, str]] = set()
        self.compiler = (TreeCompiler(settings.home / "cache" / "compiled-trees")
                         if settings.serving.compiled_trees else None)

    # -- reading (request path) --------------------------------------------------------------
    def get(self, dataset: str, alias: str = registry.CHAMPION) -> LoadedModel | None:
        """The model serving `alias` of `dataset`, if one is loaded."""
        return self._models.get((dataset, alias))

    @property
    def ready(self) -> bool:
        """Every served dataset has a champion loaded."""
        return all((d, registry.CHAMPION) in self._models for d in self.datasets)

    def waiting(self) -> dict[str, str]:
        """Each served dataset without a champion loaded, with why, for /readyz and `up`.

        Generic reasons only, never an error's text: /readyz answers anyone, and a registry
        error may name its database (the details are in the server log and /v1/models)."""
        reasons: dict[str, str] = {}
        for dataset in self.datasets:
            key = (dataset, registry.CHAMPION)
            if key in self._models:
                continue
            if key in self._unregistered:
                reasons[dataset] = readiness.NO_CHAMPION
            elif key in self.last_errors:
                reasons[dataset] = readiness.FAILED
            elif key in self._lookup_failed:
                reasons[dataset] = readiness.LOOKUP_FAILED
            else:
                reasons[dataset] = readiness.LOADING
        return reasons

    def snapshot(self) -> dict[str, Any]:
        """What is loaded, for GET /v1/models."""
        out: dict[str, Any] = {}
        for dataset in self.datasets:
            entry: dict[str, Any] = {}
            for alias in ALIASES:
                loaded = self.get(dataset, alias)
                if loaded is not None:
                    entry[alias] = {"version": loaded.version, "loaded_at": loaded.loaded_at,
                                    "fast_path": loaded.fast,
                                    "compiled_trees": loaded.compiled_trees,
                                    "metrics": loaded.metrics,
                                    "fast_path_max_rel_diff": loaded.fast_path_max_rel_diff}
                elif (dataset, alias) in self.last_errors:
                    entry[alias] = {"error": self.last_errors[(dataset, alias)]}
            out[dataset] = entry
        return out

    # -- loading (off the event loop) -----------------------------------------------------------
    def _load(self, client: MlflowClient, dataset: str, alias: str, version: str) -> LoadedModel:
        model = registry.load_model(dataset, version)
        sample = _test_sample(client, dataset, version)
        expected = smoke_test(dataset, model, sample)
        feature_columns = get_dataset(dataset).feature_columns
        predictor: FastPredictor | PipelinePredictor
        difference: float | None
        try:
            fast = FastPredictor(model)
            fast.check_rows({c: sample[c].tolist() for c in feature_columns},
                            name=f"{dataset} v{version}")
            difference = max_relative_difference(fast, expected, sample, feature_columns)
        except Exception as error:  # noqa: BLE001 - any failure: serve the pipeline instead
            log.warning("%s v%s: fast path failed to compile (%s); serving the pipeline",
                        dataset, version, error)
            fast, difference = None, None
        if fast is not None and difference <= self.settings.serving.fast_path_tolerance:
            predictor = fast
        else:
            if fast is not None:
                log.warning("%s v%s: fast path disagrees with the pipeline (max relative "
                            "difference %s); serving the pipeline", dataset, version, difference)
            self.metrics.fast_path_refused.labels(dataset).inc()
            predictor = PipelinePredictor(model, feature_columns)
        loaded = LoadedModel(dataset=dataset, alias=alias, version=version, model=model,
                             predictor=predictor,
                             loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
                             metrics=registry.version_metrics(client, dataset, version),
                             fast_path_max_rel_diff=difference, reference=(sample, expected))
        # At once if the trees were built before (a restart, another worker).
        return self._with_compiled_trees(loaded)

    def _with_compiled_trees(self, loaded: LoadedModel) -> LoadedModel:
        """`loaded`, answering through its compiled trees if they are built (else have them
        built in the background) and agree with the pipeline on the test sample, like the
        rest of the fast path. A decided model comes back with no `reference`: it is
        checked once."""
        fast = loaded.predictor
        if (self.compiler is None or not isinstance(fast, FastPredictor)
                or fast.booster is None or loaded.reference is None):
            return loaded
        trees = self.compiler.compiled(fast.booster)
        if trees is None:
            return loaded  # still compiling (or failed: then never built, so never checked)
        candidate = copy.copy(fast)
        candidate.trees = trees
        sample, expected = loaded.reference
        name = f"{loaded.dataset}@{loaded.alias} v{loaded.version}"
        decided = replace(loaded, reference=None)
        try:
            difference = max_relative_difference(candidate, expected, sample,
                                                 get_dataset(loaded.dataset).feature_columns)
        except Exception as error:  # noqa: BLE001 - keep the fast path without them
            log.warning("%s: compiled trees failed on the test sample (%s); not used", name,
                        error)
            return decided
        if not difference <= self.settings.serving.fast_path_tolerance:  # NaN refuses too
            log.warning("%s: compiled trees disagree with the pipeline (max relative "
                        "difference %s); not used", name, difference)
            return decided
        log.info("%s: answering through compiled trees (max relative difference %.3g)", name,
                 difference)
        return replace(decided, predictor=candidate, fast_path_max_rel_diff=max(
            loaded.fast_path_max_rel_diff or 0.0, difference))

    def refresh(self) -> list[str]:
        """Look up every alias; load, smoke-test and swap in versions that changed."""
        changes: list[str] = []
        with self._reload_lock:
            client = tracking.configure(self.settings)
            for dataset in self.datasets:
                for alias in ALIASES:
                    changes += self._refresh_one(client, dataset, alias)
            # Models whose trees have been compiled since: swapped whole, like a new version.
            for key, loaded in list(self._models.items()):
                self._models[key] = self._with_compiled_trees(loaded)
            if changes and self.settings.serving.freeze_heap:
                seconds = heap.settle()
                log.debug("collected and froze the heap in %.3f s", seconds)
        return changes

    def _refresh_one(self, client: MlflowClient, dataset: str, alias: str) -> list[str]:
        key = (dataset, alias)
        try:
            version = registry.alias_version(client, dataset, alias)
        except Exception as error:  # noqa: BLE001 - registry unreachable: keep serving
            log.error("cannot look up %s@%s: %s", dataset, alias, error)
            self._lookup_failed.add(key)
            return []
        self._lookup_failed.discard(key)
        if version is None:
            self._unregistered.add(key)
        else:
            self._unregistered.discard(key)
        current = self._models.get(key)
        if version is None:
            if current is not None and alias == registry.CHALLENGER:
                del self._models[key]  # the challenger alias was removed: stop routing to it
                self.metrics.model_version.labels(dataset, alias).set(0)
                return [f"{dataset}@{alias}: unloaded v{current.version}"]
            return []
        if current is not None and current.version == version:
            return []
        if self.last_errors.get(key, "").startswith(f"v{version}:"):
            return []  # this version already failed its smoke test; do not retry every poll
        try:
            loaded = self._load(client, dataset, alias, version)
        except Exception as error:  # noqa: BLE001 - never serve a model that fails to load
            message = f"v{version}: {error}"
            self.last_errors[key] = message
            self.metrics.reloads.labels(dataset, alias, "failed").inc()
            log.error("not serving %s@%s %s (keeping %s)", dataset, alias, message,
                      f"v{current.version}" if current else "nothing")
            return [f"{dataset}@{alias}: rejected {message}"]
        self._models[key] = loaded  # atomic swap: requests hold their own reference
        self.last_errors.pop(key, None)
        self.metrics.reloads.labels(dataset, alias, "ok").inc()
        self.metrics.model_version.labels(dataset, alias).set(float(version))
        self.metrics.fast_path.labels(dataset, alias).set(1.0 if loaded.fast else 0.0)
        log.info("serving %s@%s v%s (fast path: %s)", dataset, alias, version, loaded.fast)
        return [f"{dataset}@{alias}: v{current.version if current else '-'} -> v{version}"]
