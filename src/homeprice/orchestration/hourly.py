"""The hourly live evaluation as one process, for schedulers other than Airflow (the
Kubernetes CronJob in deploy/k8s): `python -m homeprice.orchestration.hourly`.

The same steps and order as dags/homeprice_live_evaluation.py: per served dataset the A/B
decision, applied (aliases move, servers hot-reload, the webhook hears of it), then the drift
check against the champion now in force; then the prediction log's retention. "Too little data
yet" (NotEnoughDataError: no champion, too few logged requests) is a skip, as in the DAG. Any
other failure is logged and makes the exit status 1, but only after every other step ran: one
dataset's failure must not hold back another's decision or keep the log from being pruned.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from homeprice.config import Settings, load_settings
from homeprice.errors import NotEnoughDataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepOutcome:
    """What one step of the run did: "ok", "skipped" or "failed", with a one-line detail."""

    step: str
    dataset: str | None
    status: str
    detail: str


def _decide(dataset: str, settings: Settings) -> str:
    from homeprice.monitoring.live import evaluate_live

    decision = evaluate_live(dataset, settings, None, apply=True)
    return f"{decision.action} ({decision.reason})"


def _drift(dataset: str, settings: Settings) -> str:
    from homeprice.monitoring.drift import check_drift

    result = check_drift(dataset, settings)
    return f"drift share {result.drift_share:.0%} (alert at {result.threshold:.0%})"


def _prune(settings: Settings) -> str:
    from homeprice.predictionlog.retention import prune_log

    totals = prune_log(settings).totals()
    return (f"{totals['prediction_logs']['deleted']} predictions and "
            f"{totals['feedback']['deleted']} feedback rows archived and deleted")


def _attempt(step: str, dataset: str | None, action: Callable[[], str]) -> StepOutcome:
    """Run one step; its failure becomes an outcome (logged with the reason), never a raise."""
    try:
        outcome = StepOutcome(step, dataset, "ok", action())
    except NotEnoughDataError as error:
        outcome = StepOutcome(step, dataset, "skipped", str(error))
    except Exception as error:  # noqa: BLE001 - the other steps must still run
        log.exception("%s failed", " ".join(filter(None, (step, dataset))))
        outcome = StepOutcome(step, dataset, "failed", f"{type(error).__name__}: {error}")
    log.info("%s: %s, %s", " ".join(filter(None, (step, dataset))), outcome.status,
             outcome.detail)
    return outcome


def run_hourly(settings: Settings) -> list[StepOutcome]:
    """Every step of one hourly run, in the DAG's order; the outcome of each."""
    outcomes: list[StepOutcome] = []
    datasets = list(settings.serving.datasets)
    # Decide first, so drift is measured against the champion in force afterwards.
    for dataset in datasets:
        outcomes.append(_attempt("ab_evaluate", dataset, lambda d=dataset: _decide(d, settings)))
    for dataset in datasets:
        outcomes.append(_attempt("monitor_drift", dataset,
                                 lambda d=dataset: _drift(d, settings)))
    outcomes.append(_attempt("prune_log", None, lambda: _prune(settings)))
    return outcomes


def main() -> int:
    """Run once; exit status 1 when any step failed (skips are fine), 0 otherwise."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    failed = [o for o in run_hourly(load_settings()) if o.status == "failed"]
    for outcome in failed:
        # One line per failure at the end, so the Job's last log lines say what went wrong.
        print(f"failed: {outcome.step} {outcome.dataset or ''}: {outcome.detail}",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
