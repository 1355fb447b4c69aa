"""`ab evaluate`: live errors of the current champion/challenger pair -> decision -> action.

Only rows of the current pair count, and only since the pair started (the later of the two
alias moves in the audit trail): the anytime-valid sequence restarts whenever either model
changes, instead of sliding over a window of mixed models.

Within the pair, only rows of the traffic mode being evaluated count (each row logs the
effective mode it was routed under, migration 0003): the mode is that of the newest labelled
served row, or, for rows logged before the column existed, inferred as before. Shadow analysis
takes the champion rows that a shadow prediction of the challenger paired (old rows with no
mode included: the shadow link proves their period); split analysis takes rows logged in split
mode only (rows of unknown mode are left out and counted in `excluded_unknown_mode`), with the
client as the unit (its X-Client-Id, or the prediction id when absent). With no challenger,
every labelled champion row of the pair counts towards the rollback check.

The loss cap, scale and variance (abtest.Preregistered) come from the champion's offline test
metrics, logged at registration, before any pair started.
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
from homeprice.monitoring.abtest import (
    ABDecision,
    ABRules,
    Preregistered,
    compare,
    decide,
    variant_stats,
)
from homeprice.monitoring.notify import notify
from homeprice.predictionlog import PredictionLog


def rules_from(settings: Settings) -> ABRules:
    """Decision thresholds from the config."""
    ab = settings.ab
    return ABRules(min_feedback=ab.min_feedback, alpha=ab.alpha, t_star=ab.t_star,
                   degradation_tolerance=ab.degradation_tolerance, loss_cap=ab.loss_cap,
                   min_clients=ab.min_clients, t_star_clients=ab.t_star_clients,
                   paired_correlation=ab.paired_correlation)


def _pair_start(entries: list[registry.AuditEntry], champion: str | None,
                challenger: str | None) -> datetime | None:
    """When the current pair began: the latest move that gave either alias its version."""
    starts = [datetime.fromisoformat(e.at) for e in entries
              if (e.alias == registry.CHAMPION and e.to_version == champion)
              or (e.alias == registry.CHALLENGER and challenger and e.to_version == challenger)]
    return max(starts) if starts else None


def _stats(variant: str, version: str | None, rows: pd.DataFrame, rules: ABRules,
           preregistered: Preregistered | None, by_client: bool = False):
    return variant_stats(variant, version, rows["actual_price"].to_numpy(float),
                         rows["prediction"].to_numpy(float), rows["lower"].to_numpy(float),
                         rows["upper"].to_numpy(float), rules, preregistered,
                         clients=client_keys(rows) if by_client else None)


def client_keys(rows: pd.DataFrame) -> np.ndarray:
    """The randomisation unit of each row: its client id, or its prediction id when absent
    (split assignment hashes the same key)."""
    return rows["client_id"].where(rows["client_id"].notna(), rows["prediction_id"]).to_numpy(
        dtype=str)


def _abs_error(rows: pd.DataFrame, prediction: str = "prediction") -> np.ndarray:
    return np.abs(rows[prediction].to_numpy(float) - rows["actual_price"].to_numpy(float))


def logged_mode(rows: pd.DataFrame) -> str | None:
    """The effective traffic mode of the newest served row that recorded one (None: none did)."""
    known = rows[rows["served"] & rows["mode"].notna()]
    return str(known["mode"].iloc[-1]) if len(known) else None


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

    offline = registry.version_metrics(client, dataset, champion_v) if champion_v else {}
    preregistered = Preregistered.from_offline(offline, rules)
    champion_rows = labelled[(labelled["variant"] == registry.CHAMPION)
                             & (labelled["model_version"] == champion_v)]
    shadow_rows = labelled[(labelled["variant"] == "shadow")
                           & (labelled["model_version"] == challenger_v)]
    split_rows = labelled[(labelled["variant"] == registry.CHALLENGER)
                          & (labelled["model_version"] == challenger_v)]
    mode = ("shadow" if len(shadow_rows) else "split" if len(split_rows)
            else settings.serving.traffic_for(dataset).effective(challenger_v is not None))
    champion, challenger, difference = None, None, None
    if challenger_v is not None:
        # The mode the servers logged beats the guess above (rows from before 0003 have none).
        mode = logged_mode(pd.concat([champion_rows, split_rows]).sort_values(
            ["ts", "prediction_id"], kind="stable")) or mode
    excluded = 0
    if challenger_v is not None and mode == "shadow":
        # Pair each shadow prediction with the served prediction it shadowed.
        paired = shadow_rows.merge(champion_rows, left_on="parent_prediction_id",
                                   right_on="prediction_id", suffixes=("", "_champion"))
        parents = champion_rows[champion_rows["prediction_id"].isin(
            paired["parent_prediction_id"])]
        if len(parents):
            champion = _stats(registry.CHAMPION, champion_v, parents, rules, preregistered)
        if len(paired):
            challenger = _stats("shadow", challenger_v, paired, rules, preregistered)
            if preregistered is not None:
                difference = compare("shadow", _abs_error(paired, "prediction_champion"),
                                     _abs_error(paired), rules, preregistered)
    elif challenger_v is not None and mode == "split":
        excluded = int(champion_rows["mode"].isna().sum() + split_rows["mode"].isna().sum())
        champion_rows = champion_rows[champion_rows["mode"] == "split"]
        split_rows = split_rows[split_rows["mode"] == "split"]
        if len(champion_rows):
            champion = _stats(registry.CHAMPION, champion_v, champion_rows, rules,
                              preregistered, by_client=True)
        if len(split_rows):
            challenger = _stats(registry.CHALLENGER, challenger_v, split_rows, rules,
                                preregistered, by_client=True)
        if champion is not None and challenger is not None and preregistered is not None:
            difference = compare("split", _abs_error(champion_rows), _abs_error(split_rows),
                                 rules, preregistered,
                                 champion_clients=client_keys(champion_rows),
                                 challenger_clients=client_keys(split_rows))
    elif len(champion_rows):
        # No challenger under evaluation: every labelled champion row of the pair is evidence
        # of its own quality (the rollback check).
        champion = _stats(registry.CHAMPION, champion_v, champion_rows, rules, preregistered)
    has_previous = len(registry.champion_lineage(entries)) >= 2
    action, reason = decide(mode, champion, challenger, difference, preregistered,
                            has_previous, rules)
    decision = ABDecision(action=action, reason=reason, mode=mode, champion=champion,
                          challenger=challenger, difference=difference,
                          details={"dataset": dataset, "champion_version": champion_v,
                                   "challenger_version": challenger_v,
                                   "since": since.isoformat() if since else None,
                                   "offline_mae": offline.get("mae"),
                                   "loss_cap": (preregistered.to_dict(rules)
                                                if preregistered else None),
                                   "excluded_unknown_mode": excluded, "applied": False,
                                   "last_applied": last_applied(entries)})
    if apply and action in ("promote", "rollback", "retire"):
        evidence = json.dumps({"reason": reason, "difference_mae": decision.to_dict()[
            "difference_mae"], "loss_cap": decision.details["loss_cap"]}, default=str)
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
                     "labelled": stats.labelled, "clients": stats.clients,
                     "clipped": stats.clipped, "raw_mae": stats.raw_mae, "mae": stats.mae.mean,
                     "mae_ci": (stats.mae.lower, stats.mae.upper), "rmse": stats.rmse,
                     "mape": stats.mape, "coverage": stats.coverage.mean,
                     "coverage_ci": (stats.coverage.lower, stats.coverage.upper)})
    return rows
