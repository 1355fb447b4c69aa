# syntax=docker/dockerfile:1
# homeprice images, one per process kind (README "Deploy"):
#   docker build -t homeprice-api .                       the API (default target)
#   docker build --target ui -t homeprice-ui .            the Streamlit UI
#   docker build --target airflow -t homeprice-airflow .  Airflow 3 with the DAGs (training, evaluation)
#   docker build --target mlflow -t homeprice-mlflow .    the MLflow tracking server (same MLflow)
# Each runs one process as a numeric non-root user; secrets come from the environment at run
# time (compose .env, a Kubernetes Secret), never from the image.

# Pinned by version (not `latest`) so a rebuild gets the same interpreter; bump deliberately.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.9.5

FROM ${UV_IMAGE} AS uv

# ---- build: a virtualenv per target, so each image carries only the extras it runs ----
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
# Byte-compile at install (faster first start); copy files out of the cache mount, not links.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /src
# The lock file pins every dependency (`make lock`); each install below takes it as
# constraints, so an image rebuilt later gets the versions CI tested, not the newest ones.
COPY pyproject.toml README.md ./
COPY requirements/lock.txt ./requirements/lock.txt
COPY src ./src

FROM build AS build-api
# The API needs the core install only (FastAPI, uvicorn, MLflow client, psycopg, Evidently).
RUN --mount=type=cache,target=/root/.cache/uv \
    uv venv /opt/venv \
    && uv pip install --python /opt/venv/bin/python -c requirements/lock.txt .

FROM build AS build-ui
RUN --mount=type=cache,target=/root/.cache/uv \
    uv venv /opt/venv \
    && uv pip install --python /opt/venv/bin/python -c requirements/lock.txt ".[ui]"

FROM build AS build-mlflow
# The tracking server runs the MLflow the clients use (no client/server version skew), with
# psycopg for its PostgreSQL backend and boto3 for an S3-compatible artifact store.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv venv /opt/venv \
    && uv pip install --python /opt/venv/bin/python -c requirements/lock.txt ".[s3]"

FROM build AS build-airflow
RUN --mount=type=cache,target=/root/.cache/uv \
    uv venv /opt/venv \
    && uv pip install --python /opt/venv/bin/python -c requirements/lock.txt ".[airflow]"

# ---- runtime: shared base without build tools ----
FROM ${PYTHON_IMAGE} AS runtime
# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only verify a numeric USER, and volume
# ownership stays the same across rebuilds.
ARG APP_UID=10001
RUN groupadd --system --gid ${APP_UID} homeprice \
    && useradd --system --uid ${APP_UID} --gid ${APP_UID} --home-dir /var/lib/homeprice \
       --create-home --shell /usr/sbin/nologin homeprice
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOMEPRICE_HOME=/var/lib/homeprice \
    HOMEPRICE_CONFIG=/app/config/homeprice.yaml
WORKDIR /app
COPY config ./config

FROM runtime AS ui
COPY --from=build-ui /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
ENTRYPOINT ["homeprice"]
CMD ["ui", "--host", "0.0.0.0", "--port", "8501"]

FROM runtime AS mlflow
COPY --from=build-mlflow /opt/venv /opt/venv
# Proxied artifact storage lands here unless MLFLOW_ARTIFACTS_DESTINATION names a bucket.
RUN mkdir -p /mlflow/artifacts && chown -R 10001:10001 /mlflow
USER 10001:10001
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4)"]
# Store URIs, artifact destination and allowed hosts come from MLFLOW_* variables at run time.
ENTRYPOINT ["mlflow"]
CMD ["server", "--host", "0.0.0.0", "--port", "5000"]

FROM runtime AS airflow
COPY --from=build-airflow /opt/venv /opt/venv
COPY dags /opt/airflow/dags
# Airflow's own images use uid 50000; ours keeps one uid for every homeprice process so they
# can share the home volume (drift reports, lake) without permission fixes.
ENV AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
RUN mkdir -p /opt/airflow/logs && chown -R 10001:10001 /opt/airflow
USER 10001:10001
EXPOSE 8080
# One Airflow component per container: the command names it (api-server, scheduler, ...).
ENTRYPOINT ["airflow"]
CMD ["version"]

# The default target (last): the HTTP API.
FROM runtime AS api
COPY --from=build-api /opt/venv /opt/venv
# Listen on every interface inside the container; the port is published or fronted by a Service.
# One server process per container (the comment at CMD says why), whatever the host's cores.
ENV HOMEPRICE_SERVING__HOST=0.0.0.0 \
    HOMEPRICE_SERVING__PORT=8000 \
    HOMEPRICE_SERVING__WORKERS=1
USER 10001:10001
EXPOSE 8000
# Slim images have no curl: the interpreter probes /healthz (exit 1 on any error or non-2xx).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# One process per container: replicas scale (compose `replicas`, a Kubernetes HPA), not
# uvicorn workers. The entry point is the CLI so the same image runs the hourly
# `ab evaluate` / `monitor drift` jobs; its default command serves.
ENTRYPOINT ["homeprice"]
CMD ["serve"]
