#!/usr/bin/env bash
# First start of the compose PostgreSQL: one role and database per service (MLflow's backend,
# the prediction log, Airflow's metadata), each owned by its role, passwords from the
# environment (deploy/.env). Runs once, when the data volume is empty.
set -euo pipefail

create() {
    local name="$1" password="$2"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name') \gexec
SQL
}

create mlflow "$MLFLOW_DB_PASSWORD"
create homeprice "$HOMEPRICE_DB_PASSWORD"
create airflow "$AIRFLOW_DB_PASSWORD"
