"""LightGBM's single-row prediction API for request-sized inputs, checked against the booster.

`Booster.predict` spends most of its time on one row in Python: argument checks, data
conversion and a new C predictor per call. LightGBM's C API has a path made for this case:
`LGBM_BoosterPredictForMatSingleRowFastInit` prepares a predictor (a FastConfig) once, and
`LGBM_BoosterPredictForMatSingleRowFast` prices one dense row through it. It is reached here
through ctypes on the library lightgbm itself loaded. The same trees are walked, but the
answer comes through another code path, so a RowPredictor is only built by `row_predictor`,
which checks it row by row against `Booster.predict` on reference rows first.
"""

from __future__ import annotations

import ctypes
import logging

import numpy as np
from lightgbm import Booster
from lightgbm.basic import _LIB, LightGBMError

log = logging.getLogger(__name__)

# From LightGBM's c_api.h.
_C_API_PREDICT_NORMAL = 0
_C_API_DTYPE_FLOAT64 = 1
# Above this many rows one Booster.predict call on the matrix is cheaper than a call per row.
MAX_ROWS = 8
# The relative difference to Booster.predict above which the single-row path is refused.
TOLERANCE = 1e-6

# Our own handle on lightgbm's library (the same loaded object): argument types are declared
# on these function objects, not on the ones lightgbm's own code calls.
_lib = ctypes.CDLL(_LIB._name)
_init = _lib.LGBM_BoosterPredictForMatSingleRowFastInit
_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                  ctypes.c_int32, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
_init.restype = ctypes.c_int
_predict = _lib.LGBM_BoosterPredictForMatSingleRowFast
_predict.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64),
                     ctypes.c_void_p]
_predict.restype = ctypes.c_int
_free = _lib.LGBM_FastConfigFree
_free.argtypes = [ctypes.c_void_p]
_free.restype = ctypes.c_int


def _check(status: int) -> None:
    if status != 0:
        raise LightGBMError(_LIB.LGBM_GetLastError().decode("utf-8"))


class RowPredictor:
    """A booster's predictions row by row through a FastConfig (one thread, normal output).

    LightGBM serialises single-row calls on one booster with its own lock, so one instance
    may be shared by threads. Build it with `row_predictor`, which checks it first.
    """

    def __init__(self, booster: Booster) -> None:
        # The FastConfig points into the booster: keep the booster alive as long as it.
        self._booster = booster
        self.num_features = booster.num_feature()
        # Booster.predict's own default: the best iteration if early stopping set one, else
        # every tree (LightGBM reads a number <= 0 as "all").
        self._iterations = booster.best_iteration
        self._config = ctypes.c_void_p()
        _check(_init(booster._handle, _C_API_PREDICT_NORMAL, 0, self._iterations,
                     _C_API_DTYPE_FLOAT64, self.num_features, b"num_threads=1",
                     ctypes.byref(self._config)))
        self._out_len = ctypes.c_int64()
        self._out_len_ref = ctypes.byref(self._out_len)

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """Booster.predict's normal output for each row of the feature matrix `Z`."""
        Z, out = matrix_and_answers(Z, self.num_features)
        # Raw addresses: building a ctypes pointer per row would cost more than the trees.
        row, stride = Z.ctypes.data, Z.strides[0]
        answer = out.ctypes.data
        for _ in range(len(Z)):
            _check(_predict(self._config, row, self._out_len_ref, answer))
            row += stride
            answer += 8
        return out

    def __del__(self) -> None:
        config = getattr(self, "_config", None)
        if config is not None and config.value is not None:
            _free(config)
            config.value = None


def matrix_and_answers(Z: np.ndarray, num_features: int) -> tuple[np.ndarray, np.ndarray]:
    """`Z` as the C-contiguous float64 rows native code reads, and a vector for its answers;
    ValueError naming the shape if it is not a matrix of `num_features` columns."""
    if Z.ndim != 2 or Z.shape[1] != num_features:
        raise ValueError(f"expected a matrix of {num_features} feature columns, got shape "
                         f"{Z.shape}")
    return np.ascontiguousarray(Z, dtype=np.float64), np.empty(len(Z), dtype=np.float64)


def max_relative_difference(predictor: RowPredictor, booster: Booster,
                            reference: np.ndarray) -> float:
    """The largest relative difference, row by row over `reference`, between the single-row
    path and Booster.predict on the whole matrix."""
    expected = np.asarray(booster.predict(reference), dtype=float)
    got = predictor.predict(reference)
    scale = np.maximum(np.abs(expected), 1e-12)
    return float(np.max(np.abs(got - expected) / scale))


def row_predictor(booster: Booster, reference: np.ndarray, *, tolerance: float = TOLERANCE,
                  name: str = "model") -> RowPredictor | None:
    """A checked RowPredictor for `booster`, or None (the caller keeps Booster.predict) when
    it cannot be built or differs from Booster.predict by more than `tolerance` (relative)
    on any row of `reference`, a non-empty feature matrix."""
    if len(reference) == 0:
        raise ValueError("no reference rows to check the single-row path on")
    try:
        predictor = RowPredictor(booster)
        difference = max_relative_difference(predictor, booster, reference)
    except (LightGBMError, ValueError, OSError) as error:
        log.warning("%s: LightGBM's single-row path is not available (%s); using "
                    "Booster.predict", name, error)
        return None
    if not difference <= tolerance:  # NaN refuses too
        log.warning("%s: LightGBM's single-row path differs from Booster.predict by %.3g "
                    "(relative) on the reference rows; using Booster.predict", name, difference)
        return None
    return predictor

