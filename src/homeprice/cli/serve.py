"""Long-running commands: the HTTP API (`serve`), the web UI (`ui`) and traffic (`simulate`)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from homeprice.cli.options import DatasetOption
from homeprice.cli.render import err, out
from homeprice.config import load_settings
from homeprice.errors import UserInputError

# `homeprice --help` lists commands in definition order: simulate, serve, ui, as always.
app = typer.Typer()


@app.command("simulate")
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
              f"feedback {result.feedback:,} (sent again {result.feedback_retries:,}, lost "
              f"{result.lost_feedback:,}); variants {dict(result.variants)}; versions "
              f"{dict(result.versions)}", highlight=False)
    if result.failed:
        raise typer.Exit(1)


def _workers_option(value: str | None) -> int | str | None:
    """--workers: a count of processes or "auto", checked as the config checks it."""
    if value is None or value == "auto":
        return value
    try:
        count = int(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither a number of processes nor 'auto'"
                                 ) from None
    if not 1 <= count <= 64:
        raise typer.BadParameter(f"{count} is outside 1-64")
    return count


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default from config).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
    datasets: Annotated[list[str] | None, typer.Option("--datasets", help="Datasets to serve "
                                                        "(repeat; default from config).")] = None,
    workers: Annotated[str | None, typer.Option(
        callback=_workers_option, help="Server processes (1-64), or 'auto': one per core this "
        "process may use, at most 8 (default from config: auto).")] = None,
) -> None:
    """Serve predictions over HTTP (FastAPI + uvicorn), hot-reloading promoted models."""
    from homeprice.api.server import serve as run_server
    from homeprice.api.server import worker_count
    from homeprice.datasets import get_dataset

    settings = load_settings()
    serving = settings.serving.model_copy(update={
        k: v for k, v in {"host": host, "port": port, "workers": workers,
                          "datasets": [get_dataset(d).name for d in datasets or []] or None
                          }.items() if v is not None})
    settings = settings.model_copy(update={"serving": serving})
    err.print(f"serving {', '.join(serving.datasets)} on http://{serving.host}:{serving.port} "
              f"with {worker_count(serving)} worker(s) (docs at /docs)", highlight=False)
    run_server(settings)


@app.command("ui")
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
    # src/homeprice/cli/serve.py -> src/homeprice/ui/app.py
    app_path = Path(__file__).parents[1] / "ui" / "app.py"
    err.print(f"web UI on http://{host}:{port} (API: {url}); Ctrl+C stops it", highlight=False)
    # The UI reads its API URL from the environment, like every other setting. Streamlit
    # replaces this process, so signals (Ctrl+C, SIGTERM) reach it directly.
    env = {**os.environ, "HOMEPRICE_UI__API_URL": url}
    os.execve(sys.executable, [sys.executable, "-m", "streamlit", "run", str(app_path),
                               "--server.port", str(port), "--server.address", host,
                               "--server.headless", "true",
                               "--browser.gatherUsageStats", "false"], env)
