# Contract (relied on by CI and other tools): venv, quickstart, test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv quickstart test airflow lint clean

AIRFLOW_PORT ?= 8080

venv: $(STAMP)

# Re-install only when the project metadata changes; uv makes a warm install take seconds.
# The tests cover the Airflow DAGs and the UI, so their extras are installed too (not Spark).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python -e ".[dev,airflow,ui]"
	touch $(STAMP)

quickstart: venv
	$(BIN)/homeprice pipeline run --dataset all --budget default

test: venv
	$(BIN)/python -m pytest -q --durations=15

# Ruff: pyflakes, pycodestyle, import order, bugbear (config in pyproject.toml).
lint: venv
	$(BIN)/ruff check src tests dags benchmarks

# Airflow 3 standalone with homeprice's DAGs on a free port (from AIRFLOW_PORT); prints the login.
airflow: venv
	AIRFLOW_PORT=$(AIRFLOW_PORT) bash ops/airflow-standalone.sh

clean:
	rm -rf $(VENV) .homeprice .pytest_cache
