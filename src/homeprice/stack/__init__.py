"""`homeprice up` / `homeprice down`: the deployment's processes on one machine, without Docker.

The API, the web UI, the MLflow UI (and Airflow on request) run as background processes on
free local ports over the embedded defaults (SQLite and files under $HOMEPRICE_HOME). What was
started is recorded in `<home>/stack/state.json`, so `down` stops exactly that and nothing else.
"""

from homeprice.stack.lifecycle import StackReport, down, up

__all__ = ["StackReport", "down", "up"]
