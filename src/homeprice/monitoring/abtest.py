"""A/B decisions from live errors: promote the challenger, retire it, roll the champion back,
or keep.

Everything the decision uses is fixed before the pair starts (`Preregistered`, from the
champion's offline test metrics, logged when it was registered):
- the loss: each absolute error is winsorised at `loss_cap` x the champion's offline MAE, so
  no single label (a mistyped price, a mansion) dominates a decision;
- the unit: losses are divided by the champion's offline MAE, so the statistics and the
  decision are the same whether prices are in dollars or lakh (scale-free);
- the tuning: each confidence sequence's mixture is tuned for the variance a standardised
  loss is expected to have, (rmse^2 - mae^2) / mae^2 offline, so it is tightest near t_star.

The unit of analysis is the unit of randomisation:
- shadow (and replay): both models price the same request; per-request paired differences of
  the capped losses, one CS (t_star counts labels);
- split: a client always sees the same model (assignment hashes its key), so its requests are
  not independent draws; each client's mean capped loss is one observation, one CS per arm at
  alpha/2 (t_star_clients counts clients), and no decision before both arms have
  `min_clients` clients (with fewer, use shadow mode). The estimand is the client-average MAE.

The rule (thresholds from config):
- promote when both variants have at least `min_feedback` labelled predictions (and, split,
  `min_clients` clients) and the CS of MAE(champion) - MAE(challenger) is entirely above 0;
- rollback when the champion's capped live MAE is, by its own CS, above its offline MAE by
  more than `degradation_tolerance` (relative) and a previous champion exists;
- retire when, with the same minimums met, that CS is entirely below 0 (proven worse);
- keep otherwise, saying which condition is missing.
Reported MAEs are the capped ones in price units (`raw_mae` is the uncapped mean).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from homeprice.formatting import human_number
from homeprice.monitoring.sequential import (
    ConfidenceSequence,
    cluster_means,
    confidence_sequence,
    difference_of_sequences,
)

# Modes whose comparison is paired per request.
PAIRED_MODES = ("shadow", "replay")
# var|e| / mae^2 for Gaussian errors (pi/2 - 1): the variance assumed when no RMSE was logged.
GAUSSIAN_VARIANCE = math.pi / 2 - 1
# Coverage is a 0/1 outcome: its variance is at most 1/4.
COVERAGE_VARIANCE = 0.25


@dataclass(frozen=True)
class ABRules:
    """Decision thresholds."""

    min_feedback: int = 100
    alpha: float = 0.05
    t_star: int = 500
    degradation_tolerance: float = 0.2
    # Absolute errors are capped at this multiple of the champion's offline MAE.
    loss_cap: float = 10.0
    # Split mode: clients per arm before any decision, and where the client-level CS is tightest.
    min_clients: int = 30
    t_star_clients: int = 100
    # Assumed correlation of the two models' capped losses (tunes the paired CS, never its
    # validity): two models fitted to the same data err on the same homes.
    paired_correlation: float = 0.8


@dataclass(frozen=True)
class Preregistered:
    """Scale, cap and variance of the decision statistics, fixed before the pair starts."""

    # The champion's offline MAE: the unit of every decision statistic.
    scale: float
    # Absolute errors above this (price units) count as this much.
    cap: float
    # Expected variance of one standardised capped loss.
    variance: float

    @classmethod
    def from_offline(cls, metrics: Mapping[str, float], rules: ABRules) -> Preregistered | None:
        """From a version's offline test metrics (mae, rmse); None without a usable MAE."""
        mae = metrics.get("mae")
        if mae is None or not math.isfinite(mae) or mae <= 0:
            return None
        rmse = metrics.get("rmse")
        variance = ((rmse**2 - mae**2) / mae**2 if rmse is not None and math.isfinite(rmse)
                    and rmse > mae else GAUSSIAN_VARIANCE)
        # A capped standardised loss lies in [0, loss_cap]: its variance is at most cap^2 / 4;
        # the floor keeps rho finite for a model whose offline errors were all alike.
        variance = min(max(variance, 0.01), rules.loss_cap**2 / 4)
        return cls(scale=float(mae), cap=float(rules.loss_cap * mae), variance=float(variance))

    def losses(self, abs_error: np.ndarray) -> np.ndarray:
        """Capped absolute errors in units of the scale."""
        return np.minimum(np.asarray(abs_error, float), self.cap) / self.scale

    def to_dict(self, rules: ABRules) -> dict[str, Any]:
        """JSON-able form, with the multiple the cap was set at."""
        return {"cap": self.cap, "cap_multiple": rules.loss_cap, "scale": self.scale,
                "variance": self.variance}


@dataclass
class VariantStats:
    """Live quality of one variant, with anytime-valid confidence sequences."""

    variant: str
    model_version: str | None
    labelled: int
    # Capped MAE (the decision statistic) in price units, with its CS.
    mae: ConfidenceSequence
    rmse: float
    mape: float
    coverage: ConfidenceSequence
    raw_mae: float = math.nan
    # Labels whose absolute error was above the cap.
    clipped: int = 0
    # Distinct clients (client id, or the prediction id when absent) among the labelled rows.
    clients: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass
class ABDecision:
    """What to do, why, and the evidence."""

    action: str
    reason: str
    mode: str
    champion: VariantStats | None
    challenger: VariantStats | None
    difference: ConfidenceSequence | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the audit trail and --json)."""
        return {"action": self.action, "reason": self.reason, "mode": self.mode,
                "champion": self.champion.to_dict() if self.champion else None,
                "challenger": self.challenger.to_dict() if self.challenger else None,
                "difference_mae": asdict(self.difference) if self.difference else None,
                **self.details}


def variant_stats(variant: str, model_version: str | None, actual: np.ndarray,
                  predicted: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  rules: ABRules, preregistered: Preregistered | None,
                  clients: np.ndarray | None = None) -> VariantStats:
    """Capped MAE (with its CS), raw MAE, RMSE, MAPE and interval coverage (with its CS).

    With `clients` (split mode) the MAE and its CS are over client means (n counts clients);
    without a pre-registered scale the MAE is raw and descriptive only (`decide` will not act).
    """
    actual = np.asarray(actual, float)
    error = np.asarray(predicted, float) - actual
    absolute = np.abs(error)
    covered = ((actual >= lower) & (actual <= upper)).astype(float)
    n = len(actual)
    if preregistered is None:
        losses, scale, variance, clipped = absolute, 1.0, 1.0, 0
    else:
        losses, scale = preregistered.losses(absolute), preregistered.scale
        variance, clipped = preregistered.variance, int((absolute > preregistered.cap).sum())
    if clients is not None:
        units = cluster_means(losses, clients)
        mae = confidence_sequence(units, rules.alpha, rules.t_star_clients, variance)
    else:
        mae = confidence_sequence(losses, rules.alpha, rules.t_star, variance)
    return VariantStats(
        variant=variant, model_version=model_version, labelled=n, mae=mae.scaled(scale),
        rmse=float(np.sqrt(np.mean(error**2))) if n else math.nan,
        mape=float(np.mean(absolute / np.abs(actual))) if n else math.nan,
        coverage=confidence_sequence(covered, rules.alpha, rules.t_star, COVERAGE_VARIANCE),
        raw_mae=float(absolute.mean()) if n else math.nan, clipped=clipped,
        clients=len(np.unique(np.asarray(clients, dtype=str))) if clients is not None else n)


def compare(mode: str, champion_abs_error: np.ndarray, challenger_abs_error: np.ndarray,
            rules: ABRules, preregistered: Preregistered, *,
            champion_clients: np.ndarray | None = None,
            challenger_clients: np.ndarray | None = None) -> ConfidenceSequence:
    """Anytime-valid CS of capped MAE(champion) - MAE(challenger), in price units.

    Shadow and replay: paired per request (same length, same order). Split: the client keys
    of each arm's rows are required; the CS is over client means, `n` counts the smaller arm's
    clients.
    """
    pre = preregistered
    champion = pre.losses(champion_abs_error)
    challenger = pre.losses(challenger_abs_error)
    if mode in PAIRED_MODES:
        if len(champion) != len(challenger):
            raise ValueError(f"paired comparison needs equal lengths, got {len(champion)} "
                             f"and {len(challenger)}")
        # Per request: positive when the challenger was closer. var(a - b) = 2 v (1 - r).
        variance = max(2 * pre.variance * (1 - rules.paired_correlation), 0.01)
        return confidence_sequence(champion - challenger, rules.alpha, rules.t_star,
                                   variance).scaled(pre.scale)
    if mode != "split":
        raise ValueError(f"no comparison in mode {mode!r} (shadow, replay or split)")
    if champion_clients is None or challenger_clients is None:
        raise ValueError("a split-mode comparison needs the client key of every row: "
                         "requests of one client are not independent")
    return difference_of_sequences(
        cluster_means(champion, champion_clients), cluster_means(challenger, challenger_clients),
        rules.alpha, rules.t_star_clients, pre.variance).scaled(pre.scale)


def _interval(difference: ConfidenceSequence) -> str:
    return f"[{human_number(difference.lower)}, {human_number(difference.upper)}]"


def _shortfall(mode: str, stats: VariantStats, rules: ABRules) -> str:
    """Why `stats` is not enough evidence yet ('' when it is)."""
    if stats.labelled < rules.min_feedback:
        return f"{stats.variant} has {stats.labelled} of {rules.min_feedback} labelled predictions"
    if mode == "split" and stats.clients < rules.min_clients:
        return (f"{stats.variant} has {stats.clients} of {rules.min_clients} clients needed in "
                "split mode (each client sees one model, so clients, not requests, are the "
                "evidence): with few clients use shadow mode, which compares both models on "
                "every request")
    return ""


def decide(mode: str, champion: VariantStats | None, challenger: VariantStats | None,
           difference: ConfidenceSequence | None, preregistered: Preregistered | None,
           has_previous_champion: bool, rules: ABRules) -> tuple[str, str]:
    """(action, reason) by the rule in this module's docstring.

    A challenger proven better on live data is promoted even when the champion has also
    degraded: it is the model with live evidence, the previous champion has none.
    """
    if champion is None or champion.labelled == 0:
        return "keep", "the champion has no labelled predictions yet"
    if preregistered is None:
        return "keep", ("the champion has no offline MAE: the loss cap and scale must be fixed "
                        "before the pair starts (register it with its test metrics)")
    degraded = ""
    offline = preregistered.scale
    if not _shortfall(mode, champion, rules):
        if champion.mae.lower > offline * (1 + rules.degradation_tolerance):
            degraded = (f"champion live MAE {human_number(champion.mae.mean)} (capped; CS lower "
                        f"bound {human_number(champion.mae.lower)}) is above its offline MAE "
                        f"{human_number(offline)} + {rules.degradation_tolerance:.0%}")
    if challenger is None or mode == "off":
        missing = "no challenger is being evaluated"
    else:
        missing = _shortfall(mode, champion, rules) or _shortfall(mode, challenger, rules)
    cs = f"anytime-valid {1 - rules.alpha:.0%} CS"
    if not missing and difference is not None and difference.lower > 0:
        return "promote", (f"challenger MAE lower by {human_number(difference.mean)} "
                           f"({cs} {_interval(difference)}, {mode}, losses capped at "
                           f"{human_number(preregistered.cap)})")
    if degraded:
        if has_previous_champion:
            return "rollback", degraded
        return "keep", f"{degraded}, but there is no previous champion to roll back to"
    if missing:
        return "keep", missing
    assert difference is not None
    if difference.upper < 0:
        return "retire", (f"challenger is worse: MAE higher by {human_number(-difference.mean)} "
                          f"({cs} {_interval(difference)}, {mode}, losses capped at "
                          f"{human_number(preregistered.cap)})")
    return "keep", (f"no significant difference yet: CS of the MAE difference "
                    f"{_interval(difference)} contains 0")
