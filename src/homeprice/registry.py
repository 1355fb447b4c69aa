"""MLflow model registry: versions, `champion`/`challenger` aliases, gate, promotion, rollback.

Every alias move is appended to an audit trail kept in the registered model's tags
(`audit/<UTC timestamp>-<nonce>` -> JSON: when, action, alias, from, to, reason, metrics, actor),
so the history lives with the registry itself, wherever its backend store is.

Every move runs read-check-move-audit under one lock per registered model (see
`homeprice.registrylock`) and checks that the aliases are still what the caller evaluated
(compare-and-set: `expected_champion` / `expected_challenger`), so concurrent movers cannot
both act on the same state and the audit trail always agrees with the aliases.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from homeprice.config import Settings
from homeprice.errors import (
    AlreadyChampionError,
    ConflictError,
    HomepriceError,
    UserInputError,
)
from homeprice.formatting import human_number
from homeprice.registrylock import alias_lock

CHAMPION = "champion"
CHALLENGER = "challenger"
_AUDIT_PREFIX = "audit/"
_METRIC_PREFIX = "metric."


def model_name(dataset: str) -> str:
    """Registered model name of a dataset."""
    return f"homeprice-{dataset}"


def actor() -> str:
    """Who is acting: $HOMEPRICE_ACTOR, else the OS user."""
    try:
        return os.environ.get("HOMEPRICE_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class AuditEntry:
    """One alias move."""

    at: str
    action: str
    alias: str
    from_version: str | None
    to_version: str | None
    reason: str
    actor: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class GateDecision:
    """Whether a challenger may become champion, and why."""

    promote: bool
    reasons: list[str]
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None = None
    champion_version: str | None = None

    def summary(self) -> str:
        """One line for tables and the audit trail."""
        return ("promoted: " if self.promote else "kept as challenger: ") + "; ".join(self.reasons)


# -- reading ------------------------------------------------------------------------------------
def alias_version(client: MlflowClient, dataset: str, alias: str) -> str | None:
    """The version an alias points to, or None."""
    try:
        return str(client.get_model_version_by_alias(model_name(dataset), alias).version)
    except MlflowException:
        return None


def history(client: MlflowClient, dataset: str) -> list[AuditEntry]:
    """Every alias move of a dataset's model, oldest first."""
    try:
        tags = client.get_registered_model(model_name(dataset)).tags
    except MlflowException:
        return []
    entries = [json.loads(v) for k, v in sorted(tags.items()) if k.startswith(_AUDIT_PREFIX)]
    return [AuditEntry(**entry) for entry in entries]


def list_versions(client: MlflowClient, dataset: str) -> list[dict[str, Any]]:
    """Registered versions, newest first, with aliases, metrics and gate outcome."""
    name = model_name(dataset)
    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException:
        return []
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    rows = []
    for mv in client.search_model_versions(f"name='{name}'"):
        tags = mv.tags or {}
        rows.append({
            "version": str(mv.version),
            "aliases": sorted(by_version.get(str(mv.version), [])),
            "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)
            .isoformat(timespec="seconds"),
            "run_id": mv.run_id,
            "candidate": tags.get("candidate"),
            "metrics": {k.removeprefix(_METRIC_PREFIX): float(v)
                        for k, v in tags.items() if k.startswith(_METRIC_PREFIX)},
            "gate": tags.get("gate"),
            "data_sha256": tags.get("data_sha256"),
        })
    return sorted(rows, key=lambda r: int(r["version"]), reverse=True)


def version_metrics(client: MlflowClient, dataset: str, version: str) -> dict[str, float]:
    """Test metrics recorded on a version."""
    mv = client.get_model_version(model_name(dataset), version)
    return {k.removeprefix(_METRIC_PREFIX): float(v)
            for k, v in (mv.tags or {}).items() if k.startswith(_METRIC_PREFIX)}


# -- writing ------------------------------------------------------------------------------------
def _audit(client: MlflowClient, dataset: str, entry: AuditEntry) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    key = f"{_AUDIT_PREFIX}{stamp}-{uuid.uuid4().hex[:6]}"
    client.set_registered_model_tag(model_name(dataset), key, json.dumps(asdict(entry)))


def _move_alias(client: MlflowClient, dataset: str, alias: str, version: str | None, *,
                action: str, reason: str, who: str | None = None,
                metrics: dict[str, float] | None = None) -> AuditEntry:
    """Point `alias` at `version` (None removes it) and record the move."""
    name = model_name(dataset)
    previous = alias_version(client, dataset, alias)
    if version is None:
        if previous is not None:
            client.delete_registered_model_alias(name, alias)
    else:
        client.set_registered_model_alias(name, alias, version)
    entry = AuditEntry(at=datetime.now(UTC).isoformat(timespec="microseconds"),
                       action=action, alias=alias, from_version=previous, to_version=version,
                       reason=reason, actor=who or actor(), metrics=metrics or {})
    _audit(client, dataset, entry)
    return entry


def _locked(client: MlflowClient, dataset: str) -> AbstractContextManager[None]:
    """The alias lock of a dataset's registered model in the client's registry store."""
    return alias_lock(client._registry_uri, model_name(dataset))


def _check_expected(client: MlflowClient, dataset: str, expected_champion: str | None,
                    expected_challenger: str | None) -> None:
    """ConflictError naming the alias that moved since the caller read it (None: no check)."""
    for alias, expected in ((CHAMPION, expected_champion), (CHALLENGER, expected_challenger)):
        if expected is None:
            continue
        current = alias_version(client, dataset, alias)
        if current != str(expected):
            now = f"v{current}" if current else "unset"
            raise ConflictError(f"{alias} of {model_name(dataset)} is {now}, not v{expected} "
                                "as expected: it moved meanwhile; look again and retry")


def register(client: MlflowClient, dataset: str, model_uri: str, run_id: str,
             metrics: dict[str, float], tags: dict[str, str]) -> str:
    """Register a logged model as a new version and make it the `challenger`."""
    name = model_name(dataset)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description=f"homeprice house-price model for the {dataset} dataset")
    version_tags = {**tags, **{f"{_METRIC_PREFIX}{k}": repr(float(v)) for k, v in metrics.items()}}
    mv = mlflow.register_model(model_uri, name, tags=version_tags)
    version = str(mv.version)
    client.set_model_version_tag(name, version, "run_id", run_id)
    with _locked(client, dataset):
        _move_alias(client, dataset, CHALLENGER, version, action="register",
                    reason=f"new version from run {run_id}", metrics=metrics)
    return version


def _require_version(client: MlflowClient, dataset: str, version: str) -> None:
    try:
        client.get_model_version(model_name(dataset), version)
    except MlflowException:
        raise UserInputError(f"{model_name(dataset)} has no version {version}") from None


def promote(client: MlflowClient, dataset: str, version: str, reason: str, *,
            who: str | None = None, action: str = "promote",
            expected_champion: str | None = None,
            expected_challenger: str | None = None) -> AuditEntry:
    """Make `version` the champion; it stops being the challenger if it was one.

    ConflictError when the champion or challenger is no longer the expected version.
    """
    if not reason.strip():
        raise UserInputError("a promotion needs a reason")
    _require_version(client, dataset, str(version))
    version = str(version)
    metrics = version_metrics(client, dataset, version)
    with _locked(client, dataset):
        _check_expected(client, dataset, expected_champion, expected_challenger)
        if alias_version(client, dataset, CHAMPION) == version:
            raise AlreadyChampionError(f"version {version} is already the champion of "
                                       f"{dataset}")
        entry = _move_alias(client, dataset, CHAMPION, version, action=action, reason=reason,
                            who=who, metrics=metrics)
        if alias_version(client, dataset, CHALLENGER) == version:
            _move_alias(client, dataset, CHALLENGER, None, action=action,
                        reason=f"version {version} became champion", who=who)
    return entry


def champion_lineage(entries: list[AuditEntry]) -> list[str]:
    """The stack of champions: promotions push, rollbacks pop."""
    stack: list[str] = []
    for entry in entries:
        if entry.alias != CHAMPION:
            continue
        if entry.action == "rollback":
            if stack:
                stack.pop()
        elif entry.to_version is not None:
            stack.append(entry.to_version)
    return stack


def rollback(client: MlflowClient, dataset: str, reason: str, *, who: str | None = None,
             expected_champion: str | None = None,
             expected_challenger: str | None = None) -> AuditEntry:
    """Give the champion alias back to the previous champion in the audit history.

    ConflictError when the champion or challenger is no longer the expected version (so two
    concurrent rollbacks of the same champion give one success, not a double step back).
    """
    if not reason.strip():
        raise UserInputError("a rollback needs a reason")
    with _locked(client, dataset):
        _check_expected(client, dataset, expected_champion, expected_challenger)
        lineage = champion_lineage(history(client, dataset))
        current = alias_version(client, dataset, CHAMPION)
        if current is None or len(lineage) < 2:
            raise ConflictError(f"{model_name(dataset)} has no previous champion to roll "
                                "back to")
        target = lineage[-2]
        return _move_alias(client, dataset, CHAMPION, target, action="rollback",
                           reason=reason, who=who,
                           metrics=version_metrics(client, dataset, target))


def retire(client: MlflowClient, dataset: str, reason: str, *, who: str | None = None,
           action: str = "retire", expected_challenger: str | None = None,
           expected_champion: str | None = None) -> AuditEntry:
    """Clear the `challenger` alias (the version stays registered), audited.

    ConflictError when there is no challenger or an alias is no longer the expected version.
    """
    if not reason.strip():
        raise UserInputError("retiring a challenger needs a reason")
    with _locked(client, dataset):
        _check_expected(client, dataset, expected_champion, expected_challenger)
        current = alias_version(client, dataset, CHALLENGER)
        if current is None:
            raise ConflictError(f"{model_name(dataset)} has no challenger to retire")
        return _move_alias(client, dataset, CHALLENGER, None, action=action, reason=reason,
                           who=who, metrics=version_metrics(client, dataset, current))


# -- gate -----------------------------------------------------------------------------------------
def gate(dataset: str, challenger: dict[str, float], champion: dict[str, float] | None,
         champion_version: str | None, settings: Settings) -> GateDecision:
    """Absolute thresholds, then a margin over the champion measured on the same test rows."""
    reasons: list[str] = []
    passed = True
    for rule, limit in settings.datasets[dataset].gate.items():
        kind, metric = rule.split("_", 1)
        value = challenger[metric]
        ok = value <= limit if kind == "max" else value >= limit
        passed &= ok
        sign = "<=" if kind == "max" else ">="
        reasons.append(f"{metric} {human_number(value)} {sign} {human_number(limit)}"
                       + ("" if ok else " FAILED"))
    if champion is None:
        reasons.append("no champion yet")
    else:
        needed = champion["rmse"] * (1 - settings.gate.min_improvement)
        ok = challenger["rmse"] <= needed
        passed &= ok
        reasons.append(f"rmse {human_number(challenger['rmse'])} vs champion v{champion_version} "
                       f"{human_number(champion['rmse'])} (needs <= {human_number(needed)})"
                       + ("" if ok else " FAILED"))
    return GateDecision(promote=passed, reasons=reasons, challenger_metrics=challenger,
                        champion_metrics=champion, champion_version=champion_version)


def apply_gate(client: MlflowClient, dataset: str, version: str, decision: GateDecision) -> None:
    """Record the gate outcome on the version and promote it when it passed.

    The promotion expects the champion the gate compared against, so a champion that moved
    meanwhile refuses it (ConflictError) instead of being replaced on stale evidence.
    """
    client.set_model_version_tag(model_name(dataset), version, "gate", decision.summary()[:4900])
    if decision.promote:
        promote(client, dataset, version, f"gate: {decision.summary()}", action="gate-promote",
                expected_champion=decision.champion_version)


def load_model(dataset: str, ref: str) -> Any:
    """Load a registered model by alias (champion, challenger) or version number."""
    name = model_name(dataset)
    uri = f"models:/{name}/{ref}" if ref.isdigit() else f"models:/{name}@{ref}"
    try:
        return mlflow.sklearn.load_model(uri)
    except MlflowException as error:
        raise UserInputError(f"cannot load {uri}: {error.message.splitlines()[0]}") from None


# -- run artifacts of a version -------------------------------------------------------------------
# The version tag naming the pipeline (parent) run that produced it: its evaluation artifacts
# (test sample, reference sample, metrics) live on that run, not on the candidate's model run.
PIPELINE_RUN_TAG = "pipeline_run_id"


def download_version_artifact(client: MlflowClient, dataset: str, version: str,
                              artifact_path: str, dst: str | os.PathLike[str]) -> str:
    """Download `artifact_path` (see `homeprice.artifacts`) of the pipeline run that produced
    `version` into the folder `dst`; the local path of the file.

    HomepriceError when the version names no pipeline run or the artifact cannot be fetched.
    """
    mv = client.get_model_version(model_name(dataset), version)
    run_id = (mv.tags or {}).get(PIPELINE_RUN_TAG)
    if not run_id:
        raise HomepriceError(f"{dataset} v{version} has no pipeline run to read "
                             f"{artifact_path} from")
    try:
        return client.download_artifacts(run_id, artifact_path, os.fspath(dst))
    except Exception as error:  # noqa: BLE001 - missing file, store down, cloud SDK error alike
        raise HomepriceError(f"{dataset} v{version}: cannot read {artifact_path} of run "
                             f"{run_id}: {error}") from None
