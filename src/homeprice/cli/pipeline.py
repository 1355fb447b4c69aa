"""`homeprice pipeline`: the whole pipeline in one go, or one step at a time for orchestrators."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from homeprice.cli.options import (
    DatasetOption,
    DatasetsOption,
    EngineOption,
    known_budget,
    known_engine,
)
from homeprice.cli.render import (
    out,
    print_next_steps,
    render_clean,
    render_quality,
    render_training,
)
from homeprice.config import load_settings
from homeprice.errors import UserInputError
from homeprice.steps import step_names

app = typer.Typer(help="Run the whole pipeline.", no_args_is_help=True)


@app.command("run")
def pipeline_run(
    dataset: DatasetsOption = "all",
    budget: Annotated[str, typer.Option(help="Tuning budget: fast, default or thorough.")
                      ] = "default",
    data_only: Annotated[bool, typer.Option("--data-only", help="Stop after cleaning.")] = False,
    engine: EngineOption = None,
) -> None:
    # One line: Typer would wrap the command list's help where the docstring breaks.
    """Run the pipeline end to end for one dataset or all (the steps of `pipeline step`)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from homeprice.pipeline import resolve_datasets, run_pipeline

    settings = load_settings()
    settings = settings.model_copy(update={"data_engine": known_engine(settings, engine)})
    names = resolve_datasets(dataset, settings)
    known_budget(settings, budget)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=out, transient=True) as progress:
        task = progress.add_task("starting", total=None)
        runs = run_pipeline(dataset, settings, None if data_only else budget,
                            lambda d, step: progress.update(task, description=f"{d}: {step}"))
    for run in runs:
        assert run.quality is not None
        render_quality(run.quality.to_dict())
    render_clean([r.cleaned.to_dict() for r in runs if r.cleaned])
    render_training(runs)
    out.print(f"datasets: {', '.join(names)}; state in {settings.home}", highlight=False)
    if not data_only:
        print_next_steps(settings, names)


@app.command("step")
def pipeline_step(
    step: Annotated[str, typer.Argument(help=f"One of: {', '.join(step_names())}.")],
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
