"""What the local stack runs: the command, environment, port and health URL of each service
(API, web UI, MLflow UI, Airflow), over the embedded defaults of one home."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from homeprice.config import Settings, config_file
from homeprice.errors import UserInputError
from homeprice.stack.processes import STACK_ID_ENV
from homeprice.stack.tokens import TOKEN_VARIABLES

# First port tried per service (the next free one is taken when it is busy): the ports the
# README and the compose stack use, so a laptop and a server look alike.
PREFERRED_PORTS = {"mlflow": 5000, "api": 8000, "ui": 8501, "airflow": 8080}
_PORT_RANGE = 100
# The repository's DAGs folder, for Airflow in a source checkout (the images copy it).
_CHECKOUT_DAGS = Path(__file__).resolve().parents[3] / "dags"


@dataclass
class Service:
    """One process to start: how, and where it answers once up."""

    name: str
    title: str
    command: list[str]
    env: dict[str, str]
    port: int
    url: str
    health_url: str
    notes: list[str] = field(default_factory=list)


def free_port(host: str, first: int, taken: set[int]) -> int:
    """The first port from `first` that nothing listens on at `host` and no other service of
    this stack was given."""
    for port in range(first, first + _PORT_RANGE):
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise UserInputError(f"no free port on {host} in {first}..{first + _PORT_RANGE - 1}")


def _executable(name: str) -> str:
    """The console script `name` of this interpreter's environment (else one on PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise UserInputError(f"`{name}` is not installed in this environment "
                             f"({Path(sys.executable).parent})")
    return found


def base_environment(settings: Settings, stack_id: str) -> dict[str, str]:
    """The environment every service starts with: the caller's, with the home, config file
    and data folder made absolute (services run in the stack folder), without the tokens
    (only the API gets them), and with the stack's id."""
    env = {name: value for name, value in os.environ.items() if name not in TOKEN_VARIABLES}
    env["HOMEPRICE_HOME"] = str(settings.home.resolve())
    config = config_file()
    if config is not None:
        env["HOMEPRICE_CONFIG"] = str(config.resolve())
    if settings.data_dir is not None:
        env["HOMEPRICE_DATA_DIR"] = str(settings.data_dir.resolve())
    if settings.lake_url and "://" not in settings.lake_url:
        env["HOMEPRICE_LAKE_URL"] = str(Path(settings.lake_url).resolve())
    env[STACK_ID_ENV] = stack_id
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _display_host(host: str) -> str:
    """Where to reach a server bound to `host` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def plan(settings: Settings, env: dict[str, str], tokens: dict[str, str], host: str,
         with_airflow: bool, datasets: list[str] | None = None) -> list[Service]:
    """The services to start, each on a free port, in start order."""
    taken: set[int] = set()
    shown = _display_host(host)
    services: list[Service] = []

    if settings.tracking_uri.startswith(("http://", "https://")):
        # MLflow is a server already; the stack's processes use it, nothing to start.
        mlflow_note = "MLflow: MLFLOW_TRACKING_URI names a tracking server; none started"
    else:
        mlflow_note = ""
        port = free_port(host, PREFERRED_PORTS["mlflow"], taken)
        # The store URI goes through the environment, not the command line, which any local
        # user can read (a PostgreSQL URL may hold a password). Artifacts are read where
        # homeprice logged them ($HOMEPRICE_HOME/artifacts), not proxied.
        services.append(Service(
            "mlflow", "MLflow UI",
            [_executable("mlflow"), "server", "--host", host, "--port", str(port),
             "--workers", "1", "--no-serve-artifacts"],
            env | {"MLFLOW_BACKEND_STORE_URI": settings.tracking_uri,
                   "MLFLOW_DEFAULT_ARTIFACT_ROOT": settings.artifacts_uri,
                   # Its job runner (seven huey workers for GenAI jobs) is not needed to
                   # browse runs and models, and would double the stack's processes.
                   "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            port, f"http://{shown}:{port}", f"http://{shown}:{port}/health"))

    port = free_port(host, PREFERRED_PORTS["api"], taken)
    api_url = f"http://{shown}:{port}"
    services.append(Service(
        "api", "API",
        [sys.executable, "-m", "homeprice.cli", "serve", "--host", host, "--port", str(port),
         *[argument for name in datasets or [] for argument in ("--datasets", name)]],
        env | tokens, port, api_url, f"{api_url}/healthz",
        notes=[f"OpenAPI docs: {api_url}/docs"] + ([mlflow_note] if mlflow_note else [])))

    port = free_port(host, PREFERRED_PORTS["ui"], taken)
    services.append(Service(
        "ui", "web UI",
        [sys.executable, "-m", "homeprice.cli", "ui", "--api-url", api_url, "--host", host,
         "--port", str(port)],
        env, port, f"http://{shown}:{port}", f"http://{shown}:{port}/_stcore/health"))

    if with_airflow:
        services.append(_airflow(settings, env, host, shown, taken))
    return services


def _airflow(settings: Settings, env: dict[str, str], host: str, shown: str,
             taken: set[int]) -> Service:
    """Airflow 3 standalone (API server and UI, scheduler, DAG processor, triggerer) with the
    homeprice DAGs, its metadata migrated first: what `make airflow` runs."""
    dags = Path(env.get("AIRFLOW__CORE__DAGS_FOLDER") or _CHECKOUT_DAGS)
    if not dags.is_dir():
        raise UserInputError(f"--with-airflow needs the homeprice DAGs: {dags} is not a folder "
                             "(run from a source checkout or set AIRFLOW__CORE__DAGS_FOLDER)")
    airflow = _executable("airflow")
    port = free_port(host, PREFERRED_PORTS["airflow"], taken)
    airflow_home = settings.home.resolve() / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    airflow_env = env | {
        # `airflow standalone` starts its components as `airflow ...` found on PATH.
        "PATH": f"{Path(airflow).parent}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags.resolve()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__API__HOST": host,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://{shown}:{port}",
        # Airflow 3 task runners report to the API server: it must be the port chosen here.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{shown}:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS":
            env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin"),
        # The LocalExecutor keeps one process per parallel slot (32 by default, ~100 MB each):
        # on one machine, as many as it has cores unless the user says otherwise.
        "AIRFLOW__CORE__PARALLELISM":
            env.get("AIRFLOW__CORE__PARALLELISM", str(max(2, os.cpu_count() or 2))),
    }
    # A PostgreSQL metadata database needs the psycopg 3 driver named, and Airflow 3 also
    # wants the async URL (psycopg 3 does both), as ops/airflow-standalone.sh sets them.
    conn = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if conn.startswith("postgresql"):
        conn = "postgresql+psycopg://" + conn.split("://", 1)[1]
        airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = conn
        airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = conn
    passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
    # One process group: the migration, then standalone in its place (exec).
    quoted = shlex.quote(airflow)
    command = ["/bin/sh", "-c", f"{quoted} db migrate && exec {quoted} standalone"]
    return Service("airflow", "Airflow", command, airflow_env, port, f"http://{shown}:{port}",
                   f"http://{shown}:{port}/api/v2/monitor/health",
                   notes=[f"Airflow login: user admin, password in {passwords}",
                          f"Airflow DAGs start paused: AIRFLOW_HOME={airflow_home} "
                          f"{airflow} dags unpause homeprice_training"])
