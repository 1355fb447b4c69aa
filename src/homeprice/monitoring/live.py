"""`ab evaluate`: live errors of the current champion/challenger pair -> decision -> action.

Only rows of the current pair count, and only since the pair started (the later of the two
alias moves in the audit trail): the anytime-valid sequence restarts whenever either model
changes, instead of sliding over a window of mixed models.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from homeprice import artifacts, registry, tracking
from homeprice.atomic import write_text
from homeprice.config import Settings
from homeprice.monitoring.abtest import ABDecision, ABRules, compare, decide, variant_stats
from homeprice.monitoring.notify import notify
from homeprice.predictionlog import PredictionLog


def rules_from(settings: Settings) -> ABRules:
    """Decision thresholds from the config."""
    ab = settings.ab
    return ABRules(min_feedback=ab.min_feedback, alpha=ab.alpha, t_star=ab.t_star,
                   degradation_tolerance=ab.degradation_tolerance)


def _pair_start(entries: list[registry.AuditEntry], champion: str | None,
                challenger: str | None) -> datetime | None:
    """When the current pair began: the latest move that gave either alias its version."""
    starts = [datetime.fromisoformat(e.at) for e in entries
              if (e.alias == registry.CHAMPION and e.to_version == champion)
              or (e.alias == registry.CHALLENGER and challenger and e.to_version == challenger)]
    return max(starts) if starts else None


def _stats(variant: str, version: str | None, rows: pd.DataFrame, rules: ABRules):
    return variant_stats(variant, version, rows["actual_price"].to_numpy(float),
                         rows["prediction"].to_numpy(float), rows["lower"].to_numpy(float),
                         rows["upper"].to_numpy(float), rules)


def last_applied(entries: list[registry.AuditEntry]) -> dict[str, Any] | None:
    """The newest champion move `ab evaluate --apply` made (a promotion or a rollback).

    A promotion also writes an entry that clears the challenger alias; that one is not it.
    """
    return next((asdict(e) for e in reversed(entries)
                 if e.actor == "ab-evaluate" and e.alias == registry.CHAMPION), None)


def evaluate_live(dataset: str, settings: Settings, window: timedelta | None = None,
                  apply: bool = False, log: PredictionLog | None = None) -> ABDecision:
    """Decide promote / rollback / keep for `dataset`; with `apply`, act and notify.

    A server passes its open prediction log; otherwise one is opened for this call.
    """
    rules = rules_from(settings)
    client = tracking.configure(settings)
    champion_v = registry.alias_version(client, dataset, registry.CHAMPION)
    challenger_v = registry.alias_version(client, dataset, registry.CHALLENGER)
    entries = registry.history(client, dataset)
    since = _pair_start(entries, champion_v, challenger_v)
    if window is not None:
        cutoff = datetime.now(UTC) - window
        since = max(since, cutoff) if since else cutoff
    if log is not None:
        labelled = log.labelled(dataset, since)
    else:
        own = PredictionLog(settings.log_url)
        own.start()
        try:
            labelled = own.labelled(dataset, since)
        finally:
            own.close()

    champion_rows = labelled[(labelled["variant"] == registry.CHAMPION)
                             & (labelled["model_version"] == champion_v)]
    shadow_rows = labelled[(labelled["variant"] == "shadow")
                           & (labelled["model_version"] == challenger_v)]
    split_rows = labelled[(labelled["variant"] == registry.CHALLENGER)
                          & (labelled["model_version"] == challenger_v)]
    mode = ("shadow" if len(shadow_rows) else "split" if len(split_rows)
            else settings.serving.traffic_for(dataset).mode)
    champion = _stats(registry.CHAMPION, champion_v, champion_rows, rules) if len(
        champion_rows) else None
    challenger, difference = None, None
    if challenger_v is not None and mode == "shadow":
        # Pair each shadow prediction with the served prediction it shadowed.
        paired = shadow_rows.merge(champion_rows, left_on="parent_prediction_id",
                                   right_on="prediction_id", suffixes=("", "_champion"))
        challenger = _stats("shadow", challenger_v, shadow_rows, rules)
        if len(paired):
            difference = compare("shadow", np.abs(paired["prediction_champion"]
                                                  - paired["actual_price"]),
                                 np.abs(paired["prediction"] - paired["actual_price"]), rules)
            challenger.labelled = min(challenger.labelled, len(paired))
    elif challenger_v is not None and len(split_rows):
        challenger = _stats(registry.CHALLENGER, challenger_v, split_rows, rules)
        if champion is not None:
            difference = compare("split", np.abs(champion_rows["prediction"]
                                                 - champion_rows["actual_price"]),
                                 np.abs(split_rows["prediction"] - split_rows["actual_price"]),
                                 rules)
    offline = registry.version_metrics(client, dataset, champion_v).get("mae") if champion_v \
        else None
    has_previous = len(registry.champion_lineage(entries)) >= 2
    action, reason = decide(mode, champion, challenger, difference, offline, has_previous, rules)
    decision = ABDecision(action=action, reason=reason, mode=mode, champion=champion,
                          challenger=challenger, difference=difference,
                          details={"dataset": dataset, "champion_version": champion_v,
                                   "challenger_version": challenger_v,
                                   "since": since.isoformat() if since else None,
                                   "offline_mae": offline, "applied": False,
                                   "last_applied": last_applied(entries)})
    if apply and action in ("promote", "rollback", "retire"):
        evidence = json.dumps({"reason": reason, "difference_mae": decision.to_dict()[
            "difference_mae"]}, default=str)
        # Compare-and-set: act only if the pair is still the one just evaluated; a move by
        # someone else meanwhile raises ConflictError and nothing changes.
        expected = {"expected_champion": champion_v, "expected_challenger": challenger_v}
        if action == "promote":
            assert challenger_v is not None
            registry.promote(client, dataset, challenger_v, f"ab evaluate: {evidence}",
                             who="ab-evaluate", action="ab-promote", **expected)
        elif action == "retire":
            registry.retire(client, dataset, f"ab evaluate: {evidence}", who="ab-evaluate",
                            action="ab-retire", **expected)
        else:
            registry.rollback(client, dataset, f"ab evaluate: {evidence}", who="ab-evaluate",
                              **expected)
        decision.details["applied"] = True
        decision.details["notified"] = notify(settings, {"event": f"ab-{action}",
                                                         **decision.to_dict()})
    if apply:
        # The scheduled evaluations (--apply: the DAG, the CronJob) publish their evidence for
        # the servers' live-error gauges; report-only runs and the insights view, which
        # evaluate on demand, leave the published one alone.
        write_text(latest_path(settings, dataset), json.dumps(
            {**decision.to_dict(), "evaluated_at": datetime.now(UTC).isoformat()},
            default=str, indent=2))
    return decision


def latest_path(settings: Settings, dataset: str) -> Path:
    """Where the latest applied evaluation of a dataset is kept (read by servers for gauges)."""
    return artifacts.report_path(settings.reports_dir, dataset, artifacts.AB_LATEST)


def live_view(dataset: str, settings: Settings, log: PredictionLog) -> dict[str, Any]:
    """The A/B view of the insights API: what `ab evaluate` would decide now (not applied) on
    the server's open log, the last decision it applied, and the interval coverage target.

    The API (`homeprice.api`, above serving and monitoring) answers GET .../ab with it.
    """
    decision = evaluate_live(dataset, settings, log=log)
    return {"decision": decision.to_dict(),
            "last_applied": decision.details["last_applied"],
            "coverage_target": 1 - settings.training.interval_alpha}


def parse_window(text: str | None) -> timedelta | None:
    """'24h', '30m', '7d' or '3600s' -> timedelta (None for no window)."""
    if not text:
        return None
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.replace(".", "", 1).isdigit():
        from homeprice.errors import UserInputError

        raise UserInputError(f"window {text!r} must be a number and a unit: s, m, h or d "
                             "(e.g. 24h)")
    return timedelta(**{units[unit]: float(number)})


def decision_rows(decision: ABDecision) -> list[dict[str, Any]]:
    """Per-variant rows for the CLI table."""
    rows = []
    for stats in (decision.champion, decision.challenger):
        if stats is None:
            continue
        rows.append({"variant": stats.variant, "version": stats.model_version,
                     "labelled": stats.labelled, "mae": stats.mae.mean,
                     "mae_ci": (stats.mae.lower, stats.mae.upper), "rmse": stats.rmse,
                     "mape": stats.mape, "coverage": stats.coverage.mean,
                     "coverage_ci": (stats.coverage.lower, stats.coverage.upper)})
    return rows
