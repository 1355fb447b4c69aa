"""Anytime-valid confidence sequences for a mean, and the A/B differences they are applied to.

A confidence sequence (CS) covers the true mean at *every* sample size simultaneously with
probability >= 1 - alpha, so it may be checked after every new label (an hourly DAG) without
the inflation of re-running a fixed-sample test. We use the asymptotic CS of Waudby-Smith,
Arnold, Wu, Howard and Ramdas, "Time-uniform central limit theory and asymptotic confidence
sequences" (Annals of Statistics, 2024; arXiv:2103.06476), Theorem 2.2, with the two-sided
Gaussian-mixture boundary of Howard, Ramdas, McAuliffe and Sekhon (2021), eq. (14):

    mean_t +/- sqrt( 2 (t s_t^2 rho^2 + 1) / (t^2 rho^2) * log( sqrt(t s_t^2 rho^2 + 1) / alpha ) )

where s_t^2 is the sample variance and rho is chosen to make the CS tightest around t_star
observations. For A/B tests in shadow mode both models price the same request, so the CS is
taken over the paired per-request differences in absolute error. In split mode each request
is answered by one model only: one CS per variant at alpha/2 each (a union bound) gives an
anytime-valid interval for the difference of the two mean absolute errors, and stays valid
when the two variants receive labels at different rates.
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


def rho_for(t_star: int, alpha: float) -> float:
    """Mixture parameter that minimises the boundary's width at t_star samples (unit variance)."""
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1)) / t_star)


def boundary(t: np.ndarray | int, variance: np.ndarray | float, alpha: float,
             t_star: int) -> np.ndarray:
    """Half-width of the two-sided asymptotic CS after t observations with the given variance."""
    t = np.asarray(t, dtype=float)
    rho2 = rho_for(t_star, alpha) ** 2
    scaled = t * np.asarray(variance, dtype=float) * rho2 + 1.0
    return np.sqrt(2 * scaled / (t**2 * rho2) * np.log(np.sqrt(scaled) / alpha))


def confidence_sequence(values: np.ndarray, alpha: float = 0.05, t_star: int = 500
                        ) -> ConfidenceSequence:
    """The asymptotic CS for the mean of i.i.d. `values`, evaluated after all of them."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return ConfidenceSequence(n, float(values.mean()) if n else math.nan, -math.inf, math.inf)
    mean = float(values.mean())
    half = float(boundary(n, values.var(ddof=1), alpha, t_star))
    return ConfidenceSequence(n, mean, mean - half, mean + half)


def running_confidence_sequence(values: np.ndarray, alpha: float = 0.05, t_star: int = 500
                                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, lower, upper) after each prefix of `values`: the CS as it evolves over time."""
    values = np.asarray(values, dtype=float)
    t = np.arange(1, len(values) + 1, dtype=float)
    csum = np.cumsum(values)
    csum2 = np.cumsum(values**2)
    mean = csum / t
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.where(t > 1, (csum2 - t * mean**2) / np.maximum(t - 1, 1), np.inf)
        half = np.where(t > 1, boundary(t, np.maximum(variance, 0.0), alpha, t_star), np.inf)
    return mean, mean - half, mean + half


def difference_of_sequences(first: np.ndarray, second: np.ndarray, alpha: float = 0.05,
                            t_star: int = 500) -> ConfidenceSequence:
    """Anytime-valid CS for mean(first) - mean(second) from two independent samples."""
    a = confidence_sequence(first, alpha / 2, t_star)
    b = confidence_sequence(second, alpha / 2, t_star)
    return ConfidenceSequence(min(a.n, b.n), a.mean - b.mean, a.lower - b.upper,
                              a.upper - b.lower)
