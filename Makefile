# Contract (relied on by CI and other tools): venv, quickstart, test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv quickstart test mutation airflow up down lock lint clean

AIRFLOW_PORT ?= 8080

venv: $(STAMP)

# Re-install only when the project metadata, the lock or this file (the extras below) changes;
# uv makes a warm install take seconds. The tests cover the Airflow DAGs, the UI and the Spark
# engine, so their extras are installed too (Spark also needs Java 17 or 21). The lock file's
# pins are constraints: every fresh venv gets the versions CI tested.
$(STAMP): pyproject.toml requirements/lock.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python -c requirements/lock.txt -e ".[dev,airflow,ui,spark]"
	touch $(STAMP)

# Re-resolve requirements/lock.txt from pyproject.toml (every extra, Python 3.11 and newer, any
# platform) against PyPI. Pins that still fit are kept, so after a pyproject change only what
# it needs moves; `make lock LOCK_ARGS=--upgrade` moves everything to the newest versions.
# Only uv is needed (not the venv's install, which is constrained by the lock being rebuilt).
LOCK_ARGS ?=
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
		--custom-compile-command "make lock" --quiet $(LOCK_ARGS) -o requirements/lock.txt

quickstart: venv
	$(BIN)/homeprice pipeline run --dataset all --budget default

# Random test order (pytest-randomly; the seed is printed at the end, rerun one order with
# `-p randomly --randomly-seed=N`, or none with `-p no:randomly`); each test has a
# time limit (pytest-timeout, `timeout` in pyproject.toml) so a hang fails instead of stalling.
# The tests are spread over TEST_WORKERS processes (pytest-xdist; the session's trained home is
# built once and copied to each): 2 workers on a 2-core machine took 17-21 min against about
# 27 serially; `make test TEST_WORKERS=0` runs them in one process. `--dist loadgroup` keeps each
# xdist_group on one worker: the Spark tests share one JVM (tests/engines/conftest.py).
TEST_WORKERS ?= 2
test: venv
	$(BIN)/python -m pytest -q --durations=15 -p randomly -n $(TEST_WORKERS) --dist loadgroup

# Mutation testing of the core decision code (modules and the fast tests that cover them:
# [tool.mutmut] in pyproject.toml), then the score per module. Slow (tens of minutes), so not
# part of `make test`. mutmut works in ./mutants/ (git-ignored); a fresh run starts clean.
MUTATION_JOBS ?= 2
mutation: venv
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS)
	$(BIN)/python ops/mutation_score.py

# Ruff: pyflakes, pycodestyle, import order, bugbear (config in pyproject.toml).
lint: venv
	$(BIN)/ruff check src tests dags benchmarks

# Airflow 3 standalone with homeprice's DAGs on a free port (from AIRFLOW_PORT); prints the login.
airflow: venv
	AIRFLOW_PORT=$(AIRFLOW_PORT) bash ops/airflow-standalone.sh

# The stack without Docker: API, web UI and MLflow UI in the background on free ports over
# $HOMEPRICE_HOME (`make up UP_ARGS=--with-airflow` adds Airflow); `make down` stops them.
UP_ARGS ?=
up: venv
	$(BIN)/homeprice up $(UP_ARGS)

down: venv
	$(BIN)/homeprice down

clean:
	rm -rf $(VENV) .homeprice .pytest_cache mutants
