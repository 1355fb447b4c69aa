"""Anytime-valid confidence sequences for a mean, and the A/B differences they are applied to.

A confidence sequence (CS) covers the true mean at *every* sample size simultaneously with
probability >= 1 - alpha, so it may be checked after every new label (an hourly DAG) without
the inflation of re-running a fixed-sample test. We use the asymptotic CS of Waudby-Smith,
Arnold, Wu, Howard and Ramdas, "Time-uniform central limit theory and asymptotic confidence
sequences" (Annals of Statistics, 2024; arXiv:2103.06476), Theorem 2.2, with the two-sided
Gaussian-mixture boundary of Howard, Ramdas, McAuliffe and Sekhon (2021), eq. (14):

    mean_t +/- sqrt( 2 (t s_t^2 rho^2 + 1) / (t^2 rho^2) * log( sqrt(t s_t^2 rho^2 + 1) / alpha ) )

where s_t^2 is the sample variance. The mixture parameter rho sets where the CS is tightest:
in "intrinsic time" t * sigma^2, so it is tuned for a variance fixed *before* the data arrive
(`variance`) and a number of observations (`t_star`). Tuned for unit variance but fed values
in dollars (variance ~1e9), the CS was tightest after a fraction of one observation and 1.6-1.8x
too wide where decisions are made; callers therefore pass standardised values (see abtest.py)
and the variance those are expected to have, which makes the whole sequence scale-free.

Which values are independent is the caller's business: paired per-request differences in shadow
mode, one mean per client (the randomisation unit) in split mode (`cluster_means`). Two
independent samples get one CS each at alpha/2 (a union bound): `difference_of_sequences`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConfidenceSequence:
    """The running estimate of a mean and its anytime-valid interval at the current time."""

    n: int
    mean: float
    lower: float
    upper: float

    def scaled(self, factor: float) -> ConfidenceSequence:
        """The same sequence in other units (e.g. standardised losses back to prices)."""
        return ConfidenceSequence(self.n, self.mean * factor, self.lower * factor,
                                  self.upper * factor)

    @property
    def width(self) -> float:
        """upper - lower."""
        return self.upper - self.lower


def rho_for(t_star: float, alpha: float, variance: float = 1.0) -> float:
    """Mixture parameter that minimises the boundary's width after t_star observations whose
    variance is `variance` (Howard et al. 2021, eq. (15), at intrinsic time t_star * variance)."""
    if t_star <= 0 or variance <= 0:
        raise ValueError(f"t_star and variance must be positive, got {t_star} and {variance}")
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1)) / (t_star * variance))


def boundary(t: np.ndarray | int, variance: np.ndarray | float, alpha: float,
             t_star: float, tuned_variance: float = 1.0) -> np.ndarray:
    """Half-width of the two-sided asymptotic CS after t observations with the given (sample)
    variance, the mixture tuned for `tuned_variance` at t_star observations."""
    t = np.asarray(t, dtype=float)
    rho2 = rho_for(t_star, alpha, tuned_variance) ** 2
    scaled = t * np.asarray(variance, dtype=float) * rho2 + 1.0
    return np.sqrt(2 * scaled / (t**2 * rho2) * np.log(np.sqrt(scaled) / alpha))


def confidence_sequence(values: np.ndarray, alpha: float = 0.05, t_star: float = 500,
                        variance: float = 1.0) -> ConfidenceSequence:
    """The asymptotic CS for the mean of i.i.d. `values`, evaluated after all of them; the
    mixture is tuned for values of variance `variance` (fixed beforehand) at t_star of them."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return ConfidenceSequence(n, float(values.mean()) if n else math.nan, -math.inf, math.inf)
    mean = float(values.mean())
    half = float(boundary(n, values.var(ddof=1), alpha, t_star, variance))
    return ConfidenceSequence(n, mean, mean - half, mean + half)


def running_confidence_sequence(values: np.ndarray, alpha: float = 0.05, t_star: float = 500,
                                variance: float = 1.0
                                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, lower, upper) after each prefix of `values`: the CS as it evolves over time."""
    values = np.asarray(values, dtype=float)
    t = np.arange(1, len(values) + 1, dtype=float)
    csum = np.cumsum(values)
    csum2 = np.cumsum(values**2)
    mean = csum / t
    with np.errstate(invalid="ignore", divide="ignore"):
        sample_variance = np.where(t > 1, (csum2 - t * mean**2) / np.maximum(t - 1, 1), np.inf)
        half = np.where(t > 1, boundary(t, np.maximum(sample_variance, 0.0), alpha, t_star,
                                        variance), np.inf)
    return mean, mean - half, mean + half


def difference_of_sequences(first: np.ndarray, second: np.ndarray, alpha: float = 0.05,
                            t_star: float = 500, variance: float = 1.0) -> ConfidenceSequence:
    """Anytime-valid CS for mean(first) - mean(second) from two independent samples: one CS
    per sample at alpha/2 (a union bound), so it stays valid when they grow at different rates.
    `n` is the smaller sample."""
    a = confidence_sequence(first, alpha / 2, t_star, variance)
    b = confidence_sequence(second, alpha / 2, t_star, variance)
    return ConfidenceSequence(min(a.n, b.n), a.mean - b.mean, a.lower - b.upper,
                              a.upper - b.lower)


def cluster_means(values: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """The mean of `values` within each cluster (in order of first appearance).

    In split mode a client always sees the same model, so its requests are not independent
    draws: the client is the randomisation unit, and its mean is the one independent value.
    """
    values = np.asarray(values, dtype=float)
    keys = np.asarray(clusters, dtype=object)
    if len(keys) != len(values):
        raise ValueError(f"{len(values)} values but {len(keys)} cluster keys")
    if not len(values):
        return values
    _, first, inverse = np.unique(keys.astype(str), return_index=True, return_inverse=True)
    sums = np.bincount(inverse, weights=values)
    counts = np.bincount(inverse)
    return (sums / counts)[np.argsort(first)]
