"""A/B decisions from live errors: promote the challenger, roll the champion back, or keep.

The rule (thresholds from config):
- promote when both variants have at least `min_feedback` labelled predictions and the
  anytime-valid CS of MAE(champion) - MAE(challenger) lies entirely above zero;
- rollback when the champion's live MAE is, by its own CS, above its offline test MAE by more
  than `degradation_tolerance` (relative) and a previous champion exists;
- keep otherwise, saying which condition is missing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from homeprice.formatting import human_number
from homeprice.monitoring.sequential import (
    ConfidenceSequence,
    confidence_sequence,
    difference_of_sequences,
)


@dataclass(frozen=True)
class ABRules:
    """Decision thresholds."""

    min_feedback: int = 100
    alpha: float = 0.05
    t_star: int = 500
    degradation_tolerance: float = 0.2


@dataclass
class VariantStats:
    """Live quality of one variant, with 95% confidence sequences."""

    variant: str
    model_version: str | None
    labelled: int
    mae: ConfidenceSequence
    rmse: float
    mape: float
    coverage: ConfidenceSequence

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
                  rules: ABRules) -> VariantStats:
    """MAE (with its CS), RMSE, MAPE and interval coverage (with its CS) of labelled rows."""
    actual = np.asarray(actual, float)
    error = np.asarray(predicted, float) - actual
    covered = ((actual >= lower) & (actual <= upper)).astype(float)
    n = len(actual)
    return VariantStats(
        variant=variant, model_version=model_version, labelled=n,
        mae=confidence_sequence(np.abs(error), rules.alpha, rules.t_star),
        rmse=float(np.sqrt(np.mean(error**2))) if n else math.nan,
        mape=float(np.mean(np.abs(error) / np.abs(actual))) if n else math.nan,
        coverage=confidence_sequence(covered, rules.alpha, rules.t_star))


def compare(mode: str, champion_abs_error: np.ndarray, challenger_abs_error: np.ndarray,
            rules: ABRules) -> ConfidenceSequence:
    """Anytime-valid CS of MAE(champion) - MAE(challenger): paired in shadow mode."""
    if mode == "shadow":
        # Per request: positive when the challenger was closer.
        differences = np.asarray(champion_abs_error, float) - np.asarray(challenger_abs_error,
                                                                           float)
        return confidence_sequence(differences, rules.alpha, rules.t_star)
    return difference_of_sequences(champion_abs_error, challenger_abs_error, rules.alpha,
                                   rules.t_star)


def decide(mode: str, champion: VariantStats | None, challenger: VariantStats | None,
           difference: ConfidenceSequence | None, offline_mae: float | None,
           has_previous_champion: bool, rules: ABRules) -> tuple[str, str]:
    """(action, reason) by the rule in this module's docstring.

    A challenger proven better on live data is promoted even when the champion has also
    degraded: it is the model with live evidence, the previous champion has none.
    """
    if champion is None or champion.labelled == 0:
        return "keep", "the champion has no labelled predictions yet"
    degraded = ""
    if offline_mae is not None and champion.labelled >= rules.min_feedback:
        if champion.mae.lower > offline_mae * (1 + rules.degradation_tolerance):
            degraded = (f"champion live MAE {human_number(champion.mae.mean)} (CS lower bound "
                        f"{human_number(champion.mae.lower)}) is above its offline MAE "
                        f"{human_number(offline_mae)} + {rules.degradation_tolerance:.0%}")
    missing = ""
    if challenger is None or mode == "off":
        missing = "no challenger is being evaluated"
    else:
        for stats in (champion, challenger):
            if stats.labelled < rules.min_feedback:
                missing = (f"{stats.variant} has {stats.labelled} of {rules.min_feedback} "
                           "labelled predictions")
                break
    if not missing and difference is not None and difference.lower > 0:
        return "promote", (f"challenger MAE lower by {human_number(difference.mean)} "
                           f"(anytime-valid {1 - rules.alpha:.0%} CS "
                           f"[{human_number(difference.lower)}, "
                           f"{human_number(difference.upper)}], {mode})")
    if degraded:
        if has_previous_champion:
            return "rollback", degraded
        return "keep", f"{degraded}, but there is no previous champion to roll back to"
    if missing:
        return "keep", missing
    assert difference is not None
    if difference.upper < 0:
        return "keep", (f"challenger is worse: MAE higher by {human_number(-difference.mean)} "
                        f"(CS [{human_number(difference.lower)}, "
                        f"{human_number(difference.upper)}])")
    return "keep", (f"no significant difference yet: CS of the MAE difference "
                    f"[{human_number(difference.lower)}, {human_number(difference.upper)}] "
                    "contains 0")
