"""The `homeprice` command line: thin commands that parse, call one function and render."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from homeprice.config import load_settings
from homeprice.errors import DataValidationError, HomepriceError, UserInputError

app = typer.Typer(help="homeprice: house-price models from raw data to production.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Fetch, validate and clean datasets.", no_args_is_help=True)
pipeline_app = typer.Typer(help="Run the whole pipeline.", no_args_is_help=True)
models_app = typer.Typer(help="Registered model versions, aliases and their history.",
                         no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(pipeline_app, name="pipeline")
ab_app = typer.Typer(help="Champion/challenger decisions from live errors.",
                     no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(ab_app, name="ab")
monitor_app = typer.Typer(help="Drift monitoring of live requests.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")

# Wide enough for the result tables when output is a file or a pipe (rich's default is 80).
out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 150)
F = TypeVar("F", bound=Callable[..., Any])

DatasetOption = Annotated[str, typer.Option("--dataset", "-d", help="california or bengaluru")]


def reports_errors(command: F) -> F:
    """Turn homeprice errors into one red line and the error's exit code (never a traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HomepriceError as error:
            if isinstance(error, DataValidationError) and error.report:
                _render_quality(error.report, console=err)
            err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # noqa: BLE001 - last resort: one line, not a traceback
            if os.environ.get("HOMEPRICE_DEBUG"):
                raise
            err.print(f"[bold red]internal error:[/] {type(error).__name__}: {error} "
                      "(set HOMEPRICE_DEBUG=1 for the traceback)", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _render_quality(report: dict[str, Any], console: Console = out) -> None:
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
        console.print(f"[red]critical[/] {issue['column']}{row}: {issue['message']}", highlight=False)


def _render_clean(summaries: list[dict[str, Any]]) -> None:
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


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False
          ) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@data_app.command("fetch")
@reports_errors
def data_fetch(
    dataset: DatasetOption,
    source: Annotated[str | None, typer.Option(help="Path or URL (http, https, any fsspec URL).")
                      ] = None,
    sha256: Annotated[str | None, typer.Option(help="Expected sha256 of the file.")] = None,
    full: Annotated[bool, typer.Option(help="Download the full public dataset.")] = False,
) -> None:
    """Copy or download a dataset's source into the lake's raw zone."""
    from homeprice.data.ingest import fetch
    from homeprice.datasets import get_dataset

    result = fetch(get_dataset(dataset), load_settings(), source=source, sha256=sha256, full=full)
    out.print(f"[green]fetched[/] {result.dataset}: {result.rows:,} rows from {result.source}\n"
              f"  sha256 {result.sha256}\n  -> {result.path}", highlight=False)


@data_app.command("validate")
@reports_errors
def data_validate(
    dataset: DatasetOption,
    input: Annotated[str | None, typer.Option("--input", help="File to validate instead of the "
                                              "latest fetched raw data.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the schema and measure data quality; exit 2 on critical violations."""
    from homeprice.data.cleaning import validate_raw
    from homeprice.datasets import get_dataset

    report, path = validate_raw(get_dataset(dataset), load_settings(), input)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    _render_quality(report.to_dict())
    out.print(f"report: {path}", highlight=False)


@data_app.command("clean")
@reports_errors
def data_clean(dataset: DatasetOption) -> None:
    """Clean the latest raw data into a new clean version, counting every dropped row."""
    from homeprice.data.cleaning import clean
    from homeprice.datasets import get_dataset

    summary = clean(get_dataset(dataset), load_settings())
    _render_clean([summary.to_dict()])
    out.print(f"-> {summary.path}", highlight=False)


def _money(value: float, unit: str) -> str:
    return f"${value:,.0f}" if unit == "USD" else f"{value:,.1f}"


def _known_budget(settings: Any, budget: str) -> str:
    """`budget`, when it names one of the configured tuning budgets."""
    if budget not in settings.training.budgets:
        raise UserInputError(f"unknown budget {budget!r} "
                             f"(known: {', '.join(settings.training.budgets)})")
    return budget


def _render_training(runs: list[Any], console: Console = out) -> None:
    """Candidates, CV RMSE, test metrics, intervals and the gate decision per dataset."""
    from homeprice.datasets import get_dataset

    for run in runs:
        outcome = run.training
        if outcome is None:
            continue
        unit = get_dataset(run.dataset).target_unit
        table = Table(title=f"{run.dataset}: candidates ({unit}; best by CV RMSE, "
                            f"{outcome.seconds:,.0f}s)")
        for column in ("candidate", "trials", "CV RMSE", "test RMSE", "MAE", "R²", "MAPE",
                       "90% coverage", "mean width"):
            table.add_column(column, justify="left" if column == "candidate" else "right")
        for c in outcome.candidates:
            mark = " *" if c.name == outcome.best else ""
            t = c.test
            table.add_row(c.name + mark, str(c.n_trials), _money(c.cv_rmse, unit),
                          _money(t["rmse"], unit), _money(t["mae"], unit), f"{t['r2']:.3f}",
                          f"{t['mape']:.1%}", f"{t['interval_coverage']:.3f}",
                          _money(t["interval_mean_width"], unit))
        console.print(table)
        decision = outcome.gate
        colour = "green" if decision and decision.promote else "yellow"
        console.print(f"registered [bold]v{outcome.version}[/] of homeprice-{run.dataset} as "
                      f"challenger; gate: [{colour}]"
                      f"{decision.summary() if decision else 'not run'}[/]", highlight=False)


@pipeline_app.command("run")
@reports_errors
def pipeline_run(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="california, bengaluru or all")
                       ] = "all",
    budget: Annotated[str, typer.Option(help="Tuning budget: fast, default or thorough.")
                      ] = "default",
    data_only: Annotated[bool, typer.Option("--data-only", help="Stop after cleaning.")] = False,
) -> None:
    """Run the pipeline end to end: fetch, validate, clean, split, train, evaluate, register, gate."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from homeprice.pipeline import resolve_datasets, run_pipeline

    settings = load_settings()
    names = resolve_datasets(dataset)
    _known_budget(settings, budget)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=out, transient=True) as progress:
        task = progress.add_task("starting", total=None)
        runs = run_pipeline(dataset, settings, None if data_only else budget,
                            lambda d, step: progress.update(task, description=f"{d}: {step}"))
    for run in runs:
        assert run.quality is not None
        _render_quality(run.quality.to_dict())
    _render_clean([r.cleaned.to_dict() for r in runs if r.cleaned])
    _render_training(runs)
    out.print(f"datasets: {', '.join(names)}; state in {settings.home}", highlight=False)
    if not data_only:
        _print_next_steps(settings, names)


def _print_next_steps(settings: Any, names: list[str]) -> None:
    """How to use what was just trained: batch predictions, the server and a sample request."""
    host, port = settings.serving.host, settings.serving.port
    example = {
        "california": '{"longitude": -122.23, "latitude": 37.88, "housing_median_age": 41, '
                      '"total_rooms": 880, "total_bedrooms": 129, "population": 322, '
                      '"households": 126, "median_income": 8.3252, "ocean_proximity": "NEAR BAY"}',
        "bengaluru": '{"area_type": "Super built-up Area", "location": "Whitefield", '
                     '"size": "2 BHK", "total_sqft": "1100 - 1200", "bath": 2}'}
    dataset = names[0]
    out.print("\n[bold]Next[/]", highlight=False)
    out.print(f"  batch:  .venv/bin/homeprice predict --dataset {dataset} --input FILE.csv "
              "--output priced.csv", highlight=False)
    out.print("  serve:  .venv/bin/homeprice serve        (API docs at "
              f"http://{host}:{port}/docs)", highlight=False)
    out.print(f"  web UI: .venv/bin/homeprice ui           (http://{settings.ui.host}:"
              f"{settings.ui.port}, with the server running)", highlight=False)
    out.print(f"  try:    curl -s -X POST http://{host}:{port}/v1/{dataset}/predict "
              f"-H 'Content-Type: application/json' -d '{example[dataset]}'", highlight=False,
              soft_wrap=True)


@pipeline_app.command("step")
@reports_errors
def pipeline_step(
    step: Annotated[str, typer.Argument(help="fetch, validate, clean, split, train, evaluate, "
                                        "register or gate")],
    dataset: DatasetOption,
    after: Annotated[str | None, typer.Option(
        "--after", help="JSON file the previous step wrote (its ids are this step's inputs).")
                     ] = None,
    budget: Annotated[str, typer.Option(help="Tuning budget (train only).")] = "default",
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write the step's result here as JSON (default: print it).")
                      ] = None,
) -> None:
    """Run one pipeline step, for orchestrators such as DVC (ids in, ids out, as JSON)."""
    from homeprice.datasets import get_dataset
    from homeprice.steps import step_arguments

    name = get_dataset(dataset).name
    previous = _read_json_file(after) if after else {}
    result = step_arguments(step, name, previous, budget)(load_settings())
    _write_json_output(result, output)


def _read_json_file(path: str) -> dict[str, Any]:
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise UserInputError(f"{path}: no such file (run the previous step first)") from None
    except json.JSONDecodeError as error:
        raise UserInputError(f"{path}: not JSON ({error})") from None


def _write_json_output(result: dict[str, Any], output: str | None) -> None:
    """Print JSON, or write it to a file atomically (a half-written file would fool DVC)."""
    text = json.dumps(result, indent=2, default=str, sort_keys=True)
    if output is None:
        typer.echo(text)
        return
    from pathlib import Path

    from homeprice.atomic import write_text

    write_text(Path(output), text + "\n")


@app.command("reproduce")
@reports_errors
def reproduce_run(
    run_id: Annotated[str, typer.Option("--run-id", help="MLflow run id of a pipeline run.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")
                       ] = False,
) -> None:
    """Retrain a logged run from its data sha256, config and seed; compare old and new metrics."""
    from homeprice.formatting import human_number as num
    from homeprice.reproduce import TOLERANCE, reproduce

    result = reproduce(run_id, load_settings())
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        table = Table(title=f"{result.dataset}: run {result.run_id} reproduced as "
                            f"{result.new_run_id} (data {result.data_sha256[:12]})")
        for column in ("candidate", "metric", "logged", "reproduced", "difference", "equal"):
            table.add_column(column)
        for c in result.comparisons:
            table.add_row(c.candidate, c.metric, num(c.old), num(c.new), f"{c.new - c.old:.3g}",
                          "yes" if c.equal else "[red]no[/]")
        out.print(table)
        for note in result.notes:
            out.print(f"note: {note}", highlight=False)
    if not result.reproduced:
        raise HomepriceError(f"run {result.run_id} did not reproduce within {TOLERANCE:g}")
    if not as_json:
        out.print(f"reproduced: every metric equal within {TOLERANCE:g}", highlight=False)


@models_app.command("list")
@reports_errors
def models_list(dataset: DatasetOption) -> None:
    """Registered versions with aliases, key metrics and creation time."""
    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    client = tracking.configure(load_settings())
    rows = registry.list_versions(client, ds.name)
    table = Table(title=f"{registry.model_name(ds.name)} ({ds.target_unit})")
    for column in ("version", "aliases", "candidate", "test RMSE", "MAPE", "R²", "coverage",
                   "created", "gate"):
        table.add_column(column)
    for r in rows:
        m = r["metrics"]
        table.add_row(r["version"], ", ".join(r["aliases"]), r["candidate"] or "",
                      _money(m["rmse"], ds.target_unit) if "rmse" in m else "",
                      f"{m['mape']:.1%}" if "mape" in m else "",
                      f"{m['r2']:.3f}" if "r2" in m else "",
                      f"{m['interval_coverage']:.3f}" if "interval_coverage" in m else "",
                      r["created"], (r["gate"] or "").split(":")[0])
    out.print(table if rows else f"no registered versions of {registry.model_name(ds.name)}")


@models_app.command("promote")
@reports_errors
def models_promote(
    dataset: DatasetOption,
    version: Annotated[str, typer.Option(help="Version number to make champion.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
) -> None:
    """Make a version the champion."""
    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    entry = registry.promote(tracking.configure(load_settings()), ds.name, version, reason)
    out.print(f"champion of {ds.name}: v{entry.from_version or '-'} -> v{entry.to_version}",
              highlight=False)


@models_app.command("rollback")
@reports_errors
def models_rollback(
    dataset: DatasetOption,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
) -> None:
    """Give the champion alias back to the previous champion."""
    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    entry = registry.rollback(tracking.configure(load_settings()), ds.name, reason)
    out.print(f"rolled back {ds.name}: champion v{entry.from_version} -> v{entry.to_version}",
              highlight=False)


@models_app.command("history")
@reports_errors
def models_history(
    dataset: DatasetOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The audit trail: every alias move with when, who, why and the metrics."""
    from dataclasses import asdict

    from homeprice import registry, tracking
    from homeprice.datasets import get_dataset

    ds = get_dataset(dataset)
    entries = registry.history(tracking.configure(load_settings()), ds.name)
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries], indent=2))
        return
    table = Table(title=f"history of {registry.model_name(ds.name)}")
    for column in ("when", "action", "alias", "from", "to", "actor", "reason"):
        table.add_column(column)
    for e in entries:
        table.add_row(e.at[:19], e.action, e.alias, e.from_version or "-", e.to_version or "-",
                      e.actor, e.reason)
    out.print(table if entries else "no history yet")


@app.command("predict")
@reports_errors
def predict(
    dataset: DatasetOption,
    input: Annotated[str, typer.Option("--input", help="CSV/Parquet in the source format.")],
    output: Annotated[str, typer.Option("--output", help="Where to write the predictions.")],
    model: Annotated[str, typer.Option(help="champion, challenger or a version number.")
                     ] = "champion",
) -> None:
    """Predict every row of a file; adds prediction, lower, upper and model_version."""
    from homeprice.batch import predict_file
    from homeprice.datasets import get_dataset

    result = predict_file(get_dataset(dataset), load_settings(), input, output, model)
    out.print(f"[green]predicted[/] {result.rows:,} rows with v{result.model_version} -> "
              f"{result.output}", highlight=False)


@ab_app.command("evaluate")
@reports_errors
def ab_evaluate(
    dataset: DatasetOption,
    window: Annotated[str | None, typer.Option(help="Only labels from this recent window, "
                                               "e.g. 24h (default: since the pair started).")
                      ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Move the aliases and notify.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Live MAE/RMSE/MAPE/coverage per variant and an anytime-valid promote/rollback/keep."""
    from homeprice.datasets import get_dataset
    from homeprice.formatting import human_number as num
    from homeprice.monitoring.live import decision_rows, evaluate_live, parse_window

    decision = evaluate_live(get_dataset(dataset).name, load_settings(), parse_window(window),
                             apply)
    if as_json:
        typer.echo(json.dumps(decision.to_dict(), indent=2, default=str))
        return
    table = Table(title=f"{dataset}: live errors ({decision.mode} mode; 95% anytime-valid CS)")
    for column in ("variant", "version", "labelled", "MAE [CS]", "RMSE", "MAPE",
                   "coverage [CS]"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for r in decision_rows(decision):
        table.add_row(r["variant"], r["version"] or "", str(r["labelled"]),
                      f"{num(r['mae'])} [{num(r['mae_ci'][0])}, {num(r['mae_ci'][1])}]",
                      num(r["rmse"]), f"{r['mape']:.1%}",
                      f"{r['coverage']:.3f} [{max(r['coverage_ci'][0], 0):.3f}, "
                      f"{min(r['coverage_ci'][1], 1):.3f}]")
    out.print(table)
    colour = {"promote": "green", "rollback": "red"}.get(decision.action, "yellow")
    applied = " (applied)" if decision.details.get("applied") else (
        "" if decision.action == "keep" else " (not applied: add --apply)")
    out.print(f"decision: [{colour}]{decision.action}[/]{applied}: {decision.reason}",
              highlight=False)


@monitor_app.command("drift")
@reports_errors
def monitor_drift(
    dataset: DatasetOption,
    window: Annotated[str | None, typer.Option(help="Requests of this recent window, e.g. 24h "
                                               "(default: all logged).")] = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="Run the pipeline when drift "
                                          "passes the threshold.")] = False,
    budget: Annotated[str | None, typer.Option(help="Tuning budget of --retrain: fast, default "
                                               "or thorough (default: "
                                               "monitoring.retrain_budget).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Compare logged requests with the training reference (Evidently); alert on drift."""
    from homeprice.datasets import get_dataset
    from homeprice.monitoring.drift import check_drift
    from homeprice.monitoring.live import parse_window

    settings = load_settings()
    name = get_dataset(dataset).name
    # Checked before the drift check: a typo must not cost a drift report and then fail.
    retrain_budget = _known_budget(settings, budget or settings.monitoring.retrain_budget)
    result = check_drift(name, settings, parse_window(window))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        table = Table(title=f"{dataset}: drift of {result.rows_current:,} requests vs "
                            f"{result.rows_reference:,} training rows (champion "
                            f"v{result.model_version})")
        for column in ("column", "method", "score", "threshold", "drifted"):
            table.add_column(column)
        for column, score in result.column_scores.items():
            table.add_row(column, score["method"], f"{score['score']:.4g}",
                          f"{score['threshold']:g}", "yes" if score["drifted"] else "")
        out.print(table)
        sampled = (f" (sampled from {result.sampled_from:,})" if result.sampled_from else "")
        colour = "red" if result.alert else "green"
        out.print(f"drift share [{colour}]{result.drift_share:.0%}[/] (alert at "
                  f"{result.threshold:.0%}){sampled}; report {result.html}", highlight=False)
    if result.alert and retrain:
        from homeprice.pipeline import run_pipeline

        # With --json, stdout stays one JSON document: progress and tables go to stderr.
        console = err if as_json else out
        console.print(f"drift above the threshold: retraining {name} ({retrain_budget} budget)",
                      highlight=False)
        _render_training(run_pipeline(name, settings, retrain_budget), console)


@app.command("simulate")
@reports_errors
def simulate_traffic(
    dataset: DatasetOption,
    url: Annotated[str, typer.Option(help="Base URL of a running `homeprice serve`.")
                   ] = "http://127.0.0.1:8000",
    requests: Annotated[int, typer.Option(min=1, help="Predictions to request.")] = 1000,
    feedback_rate: Annotated[float, typer.Option(help="Share answered with the true price.")
                             ] = 0.5,
    drift: Annotated[list[str] | None, typer.Option(help="Shift a field, e.g. "
                                                    "median_income:+30% (repeat).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 8,
) -> None:
    """Replay test-split homes against a server as several clients, with feedback and drift."""
    from homeprice.datasets import get_dataset
    from homeprice.monitoring.simulate import parse_drift, simulate

    result = simulate(get_dataset(dataset).name, load_settings(), url, requests, feedback_rate,
                      parse_drift(drift or []), seed, clients)
    out.print(f"sent {result.sent:,}: answered {result.answered:,}, failed {result.failed:,}, "
              f"feedback {result.feedback:,}; variants {dict(result.variants)}; versions "
              f"{dict(result.versions)}", highlight=False)
    if result.failed:
        raise typer.Exit(1)


@app.command("serve")
@reports_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default from config).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
    datasets: Annotated[list[str] | None, typer.Option("--datasets", help="Datasets to serve "
                                                        "(repeat; default from config).")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes (default from config).")
                       ] = None,
) -> None:
    """Serve predictions over HTTP (FastAPI + uvicorn), hot-reloading promoted models."""
    from homeprice.datasets import get_dataset
    from homeprice.serving.server import serve as run_server

    settings = load_settings()
    serving = settings.serving.model_copy(update={
        k: v for k, v in {"host": host, "port": port, "workers": workers,
                          "datasets": [get_dataset(d).name for d in datasets or []] or None
                          }.items() if v is not None})
    settings = settings.model_copy(update={"serving": serving})
    err.print(f"serving {', '.join(serving.datasets)} on http://{serving.host}:{serving.port} "
              f"with {serving.workers} worker(s) (docs at /docs)", highlight=False)
    run_server(settings)


@app.command("ui")
@reports_errors
def ui(
    api_url: Annotated[str | None, typer.Option("--api-url", help="The homeprice API the UI "
                                                "talks to (default from config: ui.api_url).")
                       ] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port of the web UI "
                                             "(default from config: ui.port).")] = None,
    host: Annotated[str | None, typer.Option(help="Interface of the web UI (default from "
                                                  "config: ui.host).")] = None,
) -> None:
    """Open the web UI (Streamlit): price homes, batch files, models, monitoring, data."""
    from importlib.util import find_spec
    from pathlib import Path

    if find_spec("streamlit") is None:
        raise UserInputError("the web UI needs Streamlit: pip install 'homeprice[ui]'")
    settings = load_settings().ui
    url, port, host = api_url or settings.api_url, port or settings.port, host or settings.host
    app_path = Path(__file__).parent / "ui" / "app.py"
    err.print(f"web UI on http://{host}:{port} (API: {url}); Ctrl+C stops it", highlight=False)
    # The UI reads its API URL from the environment, like every other setting. Streamlit
    # replaces this process, so signals (Ctrl+C, SIGTERM) reach it directly.
    env = {**os.environ, "HOMEPRICE_UI__API_URL": url}
    os.execve(sys.executable, [sys.executable, "-m", "streamlit", "run", str(app_path),
                               "--server.port", str(port), "--server.address", host,
                               "--server.headless", "true",
                               "--browser.gatherUsageStats", "false"], env)


def main() -> None:
    """Entry point of the `homeprice` script."""
    app()


if __name__ == "__main__":
    main()
