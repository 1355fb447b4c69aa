"""What the commands print: the consoles, rich tables of results and the pipeline's next steps."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from homeprice.datasets import get_dataset

# Wide enough for the result tables when output is a file or a pipe (rich's default is 80).
out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 150)



def money(value: float, unit: str) -> str:
    """A price in the dataset's unit: whole dollars, or one decimal (e.g. lakh INR)."""
    return f"${value:,.0f}" if unit == "USD" else f"{value:,.1f}"


def render_quality(report: dict[str, Any], console: Console = out) -> None:
    """A quality report as a rich table."""
    table = Table(title=f"Quality of {report['dataset']} ({report['rows']:,} rows): "
                        f"{report['status']}")
    for column in ("column", "missing", "outliers", "range violations", "domain violations"):
        table.add_column(column, justify="left" if column == "column" else "right")
    for column in report["columns"]:
        table.add_row(
            column,
            str(report["missing"].get(column, 0)),
            str(report["outliers"].get(column, {}).get("count", 0)),
            str(report["range_violations"].get(column, {}).get("count", 0)),
            str(report["domain_violations"].get(column, {}).get("count", 0)),
        )
    console.print(table)
    console.print(f"duplicate rows: {report['duplicates']}")
    for issue in report["critical"]:
        row = f" row {issue['row']}" if issue.get("row") else ""
        console.print(f"[red]critical[/] {issue['column']}{row}: {issue['message']}",
                      highlight=False)


def render_clean(summaries: list[dict[str, Any]]) -> None:
    """Rows in, rows dropped by reason, rows out: one block per dataset."""
    table = Table(title="Cleaning: every dropped row accounted for")
    for column in ("dataset", "", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for s in summaries:
        table.add_row(s["dataset"], "rows in", f"{s['rows_in']:,}")
        for reason, count in s["dropped"].items():
            if count:
                table.add_row("", f"dropped: {reason}", f"-{count:,}")
        table.add_row("", "[bold]rows out[/]", f"[bold]{s['rows_out']:,}[/]")
        for note, value in s["notes"].items():
            table.add_row("", f"[dim]{note}[/]", f"[dim]{value:,}[/]")
        table.add_row("", "[dim]clean version[/]", f"[dim]{s['version']}[/]", end_section=True)
    out.print(table)


def render_training(runs: list[Any], console: Console = out) -> None:
    """Candidates, CV RMSE, test metrics, intervals and the gate decision per dataset."""
    from homeprice.datasets import get_dataset

    for run in runs:
        outcome = run.training
        if outcome is None:
            continue
        unit = get_dataset(run.dataset).target_unit
        # The choice is on the dataset's tuning metric; a metric other than RMSE gets a column.
        chosen_on = "RMSE" if outcome.tuning_metric == "rmse" else "log RMSE"
        table = Table(title=f"{run.dataset}: candidates ({unit}; best by CV {chosen_on}, "
                            f"{outcome.seconds:,.0f}s)")
        extra = () if chosen_on == "RMSE" else (f"CV {chosen_on}",)
        for column in ("candidate", "trials", *extra, "CV RMSE", "test RMSE", "MAE", "R²",
                       "MAPE", "90% coverage", "mean width"):
            table.add_column(column, justify="left" if column == "candidate" else "right")
        for c in outcome.candidates:
            mark = " *" if c.name == outcome.best else ""
            t = c.test
            score = () if chosen_on == "RMSE" else (f"{c.cv_score:.4f}",)
            table.add_row(c.name + mark, str(c.n_trials), *score, money(c.cv_rmse, unit),
                          money(t["rmse"], unit), money(t["mae"], unit), f"{t['r2']:.3f}",
                          f"{t['mape']:.1%}", f"{t['interval_coverage']:.3f}",
                          money(t["interval_mean_width"], unit))
        console.print(table)
        decision = outcome.gate
        console.print(f"registered [bold]v{outcome.version}[/] of homeprice-{run.dataset}; "
                      f"{_gate_line(decision)}", highlight=False)


def _gate_line(decision: Any) -> str:
    """What the gate made of a new version, coloured, with its reasons."""
    from homeprice import registry

    if decision is None:
        return "gate: not run"
    what, colour = {
        registry.GATE_CHAMPION: ("now the champion", "green"),
        registry.GATE_AWAITING: ("challenger awaiting live evidence (servers in traffic mode "
                                 "auto shadow-score it; `ab evaluate --apply` decides)", "cyan"),
        registry.GATE_REJECTED: ("rejected: its challenger alias was cleared, it gets no live "
                                 "traffic", "red"),
        registry.GATE_FAILED: ("failed the gate, kept as challenger", "yellow"),
    }.get(decision.outcome, (str(decision.outcome), "yellow"))
    return f"[{colour}]{what}[/]; gate: {'; '.join(decision.reasons)}"


def print_next_steps(settings: Any, names: list[str]) -> None:
    """How to use what was just trained: batch predictions, the server and a sample request."""
    host, port = settings.serving.host, settings.serving.port
    dataset = names[0]
    # The dataset plug-in's documented example body (also the OpenAPI example).
    example = json.dumps(get_dataset(dataset).request_example)
    out.print("\n[bold]Next[/]", highlight=False)
    out.print(f"  batch:  .venv/bin/homeprice predict --dataset {dataset} --input FILE.csv "
              "--output priced.csv", highlight=False)
    out.print("  serve:  .venv/bin/homeprice serve        (API docs at "
              f"http://{host}:{port}/docs)", highlight=False)
    out.print(f"  web UI: .venv/bin/homeprice ui           (http://{settings.ui.host}:"
              f"{settings.ui.port}, with the server running)", highlight=False)
    out.print(f"  try:    curl -s -X POST http://{host}:{port}/v1/{dataset}/predict "
              f"-H 'Content-Type: application/json' -d '{example}'",
              highlight=False, soft_wrap=True)


def render_decision_table(decision: Any, title: str) -> None:
    """The per-variant live-error table of an A/B decision (`ab evaluate`, `replay`)."""
    from homeprice.formatting import human_number as num
    from homeprice.monitoring.live import decision_rows

    cap = decision.details.get("loss_cap")
    # The decision statistics are capped: the caption says at what, the table how often.
    caption = (f"MAE: absolute errors capped at {num(cap['cap'])} ({cap['cap_multiple']:g} x "
               "the champion's offline MAE, fixed before the pair started); raw MAE uncapped"
               if cap else "no offline MAE for the champion: MAE uncapped, nothing decided")
    table = Table(title=title, caption=caption)
    for column in ("variant", "version", "labelled", "clients", "MAE [CS]", "clipped",
                   "raw MAE", "RMSE", "MAPE", "coverage [CS]"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for r in decision_rows(decision):
        table.add_row(r["variant"], r["version"] or "", str(r["labelled"]), str(r["clients"]),
                      f"{num(r['mae'])} [{num(r['mae_ci'][0])}, {num(r['mae_ci'][1])}]",
                      str(r["clipped"]), num(r["raw_mae"]), num(r["rmse"]), f"{r['mape']:.1%}",
                      f"{r['coverage']:.3f} [{max(r['coverage_ci'][0], 0):.3f}, "
                      f"{min(r['coverage_ci'][1], 1):.3f}]")
    out.print(table)
