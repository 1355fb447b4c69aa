#!/usr/bin/env bash
# `make airflow`: Airflow 3 standalone (API server + UI, scheduler, DAG processor, triggerer)
# with homeprice's DAGs, on a free local port. State lives in $HOMEPRICE_HOME/airflow.
#
#   AIRFLOW_PORT=8080       first port to try (the next free one is taken when it is busy)
#   HOMEPRICE_HOME=.homeprice
#   AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg://...   metadata in PostgreSQL
#                           (default: SQLite in AIRFLOW_HOME, fine for one machine)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$repo/.venv/bin"
# `airflow standalone` starts its components as `airflow ...` subprocesses: found on PATH.
export PATH="$bin:$PATH"

export HOMEPRICE_HOME="$(mkdir -p "${HOMEPRICE_HOME:-$repo/.homeprice}" && cd "${HOMEPRICE_HOME:-$repo/.homeprice}" && pwd)"
export AIRFLOW_HOME="$HOMEPRICE_HOME/airflow"
mkdir -p "$AIRFLOW_HOME"

port="$("$bin/python" - "${AIRFLOW_PORT:-8080}" <<'PY'
import socket, sys
start = int(sys.argv[1])
for port in range(start, start + 100):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            print(port)
            break
else:
    sys.exit(f"no free port in {start}..{start + 99}")
PY
)"

export AIRFLOW__CORE__DAGS_FOLDER="$repo/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=false
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$port"
export AIRFLOW__API__BASE_URL="http://localhost:$port"
# Airflow 3 task runners report to the API server: it must be the port chosen above.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:$port/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
# A PostgreSQL metadata database also needs the async driver's URL (psycopg 3 does both).
conn="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}"
if [[ "$conn" == postgresql* ]]; then
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg://${conn#*://}"
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
fi

echo "Airflow home: $AIRFLOW_HOME (homeprice home: $HOMEPRICE_HOME)"
"$bin/airflow" db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 \
    || { echo "airflow db migrate failed; see $AIRFLOW_HOME/db-migrate.log" >&2; exit 1; }

"$bin/airflow" standalone >"$AIRFLOW_HOME/standalone.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM

passwords="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
for _ in $(seq 1 180); do
    if "$bin/python" -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:$port/api/v2/monitor/health', timeout=1).status_code != 200)" 2>/dev/null \
        && [ -s "$passwords" ]; then
        break
    fi
    kill -0 $server 2>/dev/null || { echo "airflow standalone exited; see $AIRFLOW_HOME/standalone.log" >&2; exit 1; }
    sleep 1
done
login="$("$bin/python" -c "import json,sys; print(', '.join(f'{u} / {p}' for u, p in json.load(open(sys.argv[1])).items()))" "$passwords")"
cat <<MSG

Airflow is up: http://localhost:$port   (log: $AIRFLOW_HOME/standalone.log)
login (user / password): $login
DAGs: homeprice_training (params dataset, budget), homeprice_live_evaluation
New DAGs start paused. To run one now:
  export AIRFLOW_HOME=$AIRFLOW_HOME
  $bin/airflow dags unpause homeprice_training
  $bin/airflow dags trigger homeprice_training -c '{"dataset": "california", "budget": "fast"}'
Ctrl-C stops it.
MSG
wait $server
