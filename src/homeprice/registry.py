"""MLflow model registry: versions, `champion`/`challenger` aliases, gate, promotion, rollback.

Every alias move is appended to an audit trail kept in the registered model's tags
(`audit/<UTC timestamp>-<nonce>` -> JSON: when, action, alias, from, to, reason, metrics, actor),
so the history lives with the registry itself, wherever its backend store is.

The gate decides what a new version becomes (`apply_gate`, by `gate.mode`), and `stages`
derives every version's place in the lifecycle (champion, challenger, retired, previous
champion, gate failed, registered) from the aliases, the audit trail and the gate's tag.

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

from homeprice.config import GateMode, Settings
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
# What the registry answers for a model or alias that does not exist (by name: that is how
# MlflowException keeps them, from a local store and a tracking server alike).
_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})
_METRIC_PREFIX = "metric."
# The version tags of the gate: its one-line summary, and what it made of the version.
GATE_TAG = "gate"
GATE_OUTCOME_TAG = "gate_outcome"
# Gate outcomes. champion: passed with no champion yet (or gate.mode offline), promoted.
# challenger: passed in gate.mode live, left the challenger to await live evidence.
# rejected: failed in gate.mode live, its challenger alias cleared (no live traffic).
# failed: failed in gate.mode offline, left the challenger (the behaviour before gate modes).
GATE_CHAMPION = "champion"
GATE_AWAITING = "challenger"
GATE_REJECTED = "rejected"
GATE_FAILED = "failed"
# Audit actions that clear the challenger alias without promoting it: a retirement.
RETIRING_ACTIONS = ("retire", "ab-retire", "gate-reject")


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


_OUTCOME_PREFIX = {GATE_CHAMPION: "promoted", GATE_AWAITING: "challenger awaiting live evidence",
                   GATE_REJECTED: "rejected", GATE_FAILED: "kept as challenger"}


@dataclass
class GateDecision:
    """Whether a version passed the gate and why; `outcome` (set by `apply_gate`) is what the
    gate made of it: one of the GATE_* outcomes."""

    # Passed every rule (thresholds and the margin over the champion). Whether that promotes
    # the version depends on gate.mode and on there being a champion: see `outcome`.
    promote: bool
    reasons: list[str]
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None = None
    champion_version: str | None = None
    outcome: str | None = None

    def summary(self) -> str:
        """One line for tables and the audit trail, led by what happened to the version."""
        lead = _OUTCOME_PREFIX.get(self.outcome or "", "passed" if self.promote else "failed")
        return f"{lead}: " + "; ".join(self.reasons)


# -- reading ------------------------------------------------------------------------------------
def _not_found(error: MlflowException) -> bool:
    """The registry answered that the model or alias does not exist (as opposed to failing:
    a locked or unreachable store raises TEMPORARILY_UNAVAILABLE, INTERNAL_ERROR, ...)."""
    return error.error_code in _NOT_FOUND_CODES


def alias_version(client: MlflowClient, dataset: str, alias: str) -> str | None:
    """The version an alias points to, or None when the model or alias does not exist.

    A registry that fails raises: taking a locked database for "no alias" once made a server
    start without its champion and would unload a live challenger."""
    try:
        return str(client.get_model_version_by_alias(model_name(dataset), alias).version)
    except MlflowException as error:
        if _not_found(error):
            return None
        raise


def history(client: MlflowClient, dataset: str) -> list[AuditEntry]:
    """Every alias move of a dataset's model, oldest first."""
    try:
        tags = client.get_registered_model(model_name(dataset)).tags
    except MlflowException as error:
        if _not_found(error):
            return []
        raise
    entries = [json.loads(v) for k, v in sorted(tags.items()) if k.startswith(_AUDIT_PREFIX)]
    return [AuditEntry(**entry) for entry in entries]


def list_versions(client: MlflowClient, dataset: str, traffic_mode: str | None = None
                  ) -> list[dict[str, Any]]:
    """Registered versions, newest first, with aliases, metrics, gate outcome and lifecycle
    stage (see `stages`; `traffic_mode` is the challenger's effective traffic mode if known)."""
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
            "gate": tags.get(GATE_TAG),
            "gate_outcome": tags.get(GATE_OUTCOME_TAG),
            "data_sha256": tags.get("data_sha256"),
        })
    found = derive_stages(rows, history(client, dataset), traffic_mode)
    for row in rows:
        stage = found[row["version"]]
        row["stage"], row["stage_detail"] = stage.stage, stage.detail
    return sorted(rows, key=lambda r: int(r["version"]), reverse=True)


@dataclass(frozen=True)
class Stage:
    """Where a version is in the lifecycle, and the particulars (who retired it, and so on)."""

    # champion | challenger | retired | previous champion | gate failed | registered
    stage: str
    detail: str = ""


def stages(client: MlflowClient, dataset: str, traffic_mode: str | None = None
           ) -> dict[str, Stage]:
    """The lifecycle stage of every registered version of `dataset`, by version."""
    return {row["version"]: Stage(row["stage"], row["stage_detail"])
            for row in list_versions(client, dataset, traffic_mode)}


def _gate_failed(row: dict[str, Any]) -> bool:
    outcome = row.get("gate_outcome")
    if outcome is not None:
        return outcome in (GATE_FAILED, GATE_REJECTED)
    # Versions gated before the outcome tag existed: the summary's lead says it.
    return (row.get("gate") or "").startswith("kept as challenger")


def derive_stages(versions: list[dict[str, Any]], entries: list[AuditEntry],
                  traffic_mode: str | None = None) -> dict[str, Stage]:
    """Each version's stage from its aliases (`versions` rows of `list_versions`), the audit
    trail (oldest first) and its gate outcome.

    The aliases say champion and challenger. Otherwise the last move of the challenger alias
    away from the version says how it left: cleared by retire, ab-retire or gate-reject is
    "retired"; a version that ever held the champion alias is a "previous champion"; a failed
    gate that left it nothing is "gate failed"; anything else (never gated, or replaced as
    challenger by a newer version before any decision) is "registered".
    """
    left_challenger: dict[str, AuditEntry] = {}
    ever_champion: dict[str, AuditEntry] = {}  # the move that took the alias away, if any
    for entry in entries:
        if entry.alias == CHALLENGER and entry.from_version and \
                entry.to_version != entry.from_version:
            left_challenger[entry.from_version] = entry
        if entry.alias == CHAMPION:
            if entry.to_version:
                ever_champion.setdefault(entry.to_version, entry)
            if entry.from_version and entry.from_version != entry.to_version:
                ever_champion[entry.from_version] = entry
    found: dict[str, Stage] = {}
    for row in versions:
        version, aliases = row["version"], row["aliases"]
        left = left_challenger.get(version)
        if CHAMPION in aliases:
            found[version] = Stage(CHAMPION, "serves every request not routed to a challenger")
        elif CHALLENGER in aliases:
            if traffic_mode is None:
                detail = "awaiting live evidence"
            elif traffic_mode == "off":
                detail = "no live traffic: traffic mode off"
            else:
                detail = f"in live evaluation ({traffic_mode})"
            found[version] = Stage(CHALLENGER, detail)
        elif (left is not None and left.action in RETIRING_ACTIONS and left.to_version is None
              and (version not in ever_champion or ever_champion[version].at < left.at)):
            found[version] = Stage("retired", f"by {left.action} ({left.actor}, "
                                              f"{left.at[:19]})")
        elif version in ever_champion:
            moved = ever_champion[version]
            after = f"v{moved.to_version} by {moved.action}" if moved.from_version == version \
                else "a later version"
            found[version] = Stage("previous champion", f"replaced by {after}")
        elif _gate_failed(row):
            failed = [r for r in (row.get("gate") or "").split(": ", 1)[-1].split("; ")
                      if r.endswith("FAILED")]
            found[version] = Stage("gate failed", "; ".join(failed))
        elif left is not None and left.to_version:
            found[version] = Stage("registered", f"replaced as challenger by v{left.to_version} "
                                                 "before a decision")
        else:
            found[version] = Stage("registered")
    return found


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
    with _locked(client, dataset):
        _check_expected(client, dataset, expected_champion, expected_challenger)
        return _make_champion(client, dataset, version, reason, action=action, who=who)


def _make_champion(client: MlflowClient, dataset: str, version: str, reason: str, *,
                   action: str, who: str | None = None) -> AuditEntry:
    """Under the lock: move the champion alias to `version`; it stops being the challenger."""
    if alias_version(client, dataset, CHAMPION) == version:
        raise AlreadyChampionError(f"version {version} is already the champion of {dataset}")
    entry = _move_alias(client, dataset, CHAMPION, version, action=action, reason=reason,
                        who=who, metrics=version_metrics(client, dataset, version))
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


def gate_outcome(passed: bool, champion: str | None, mode: GateMode) -> str:
    """What the gate makes of a version: promoted when it passed and there is no champion (a
    first install must serve) or the mode is offline; otherwise, in live mode, a passing
    version awaits live evidence as challenger and a failing one is rejected."""
    if passed:
        return GATE_CHAMPION if champion is None or mode == "offline" else GATE_AWAITING
    return GATE_REJECTED if mode == "live" else GATE_FAILED


def apply_gate(client: MlflowClient, dataset: str, version: str, decision: GateDecision, *,
               mode: GateMode) -> str:
    """Act on the gate's decision by `mode` (see `gate_outcome`), record it on the version (tags
    `gate` and `gate_outcome`, and `decision.outcome`) and return the outcome.

    Decided under the alias lock on the champion there is now. A promotion expects the champion
    the gate compared against, so a champion that moved meanwhile refuses it (ConflictError)
    instead of being replaced on stale evidence; in live mode a passing version then simply
    awaits live evidence against the new champion. A rejection clears the challenger alias only
    while it still names this version (a newer challenger is left alone).
    """
    version = str(version)
    name = model_name(dataset)
    with _locked(client, dataset):
        champion = alias_version(client, dataset, CHAMPION)
        outcome = gate_outcome(decision.promote, champion, mode)
        if outcome == GATE_CHAMPION and champion != decision.champion_version:
            was = f"v{decision.champion_version}" if decision.champion_version else "none"
            raise ConflictError(f"champion of {name} is v{champion}, but the gate of v{version} "
                                f"compared it with {was}: it moved meanwhile; gate again")
        decision.outcome = outcome
        summary = decision.summary()
        client.set_model_version_tag(name, version, GATE_TAG, summary[:4900])
        client.set_model_version_tag(name, version, GATE_OUTCOME_TAG, outcome)
        if outcome == GATE_CHAMPION:
            _make_champion(client, dataset, version, f"gate: {summary}", action="gate-promote")
        elif outcome == GATE_REJECTED and alias_version(client, dataset, CHALLENGER) == version:
            # Failed offline: it must not be shadow-scored or split live (traffic mode auto).
            _move_alias(client, dataset, CHALLENGER, None, action="gate-reject",
                        reason=f"gate: {summary}", metrics=decision.challenger_metrics)
    return outcome


def model_uri(dataset: str, ref: str) -> str:
    """The models:/ URI of a registered version (a number) or alias (champion, challenger)."""
    name = model_name(dataset)
    return f"models:/{name}/{ref}" if ref.isdigit() else f"models:/{name}@{ref}"


def load_model(dataset: str, ref: str) -> Any:
    """Load a registered model by alias (champion, challenger) or version number."""
    uri = model_uri(dataset, ref)
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
