"""An Airflow home for the DAG tests: SQLite metadata, migrated once, these DAGs only.

Airflow reads its configuration when it is first imported, so the environment is set here
before any test module imports it (the test modules import Airflow inside their tests).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import DAGS

# Set as this conftest is imported, for the whole session: a test that imports a DAG module
# (so Airflow) before the fixture below ran would otherwise leave Airflow configured on
# ~/airflow, whose database has no tables ("no such table: task_instance" in a random order).
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="homeprice-test-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "false",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
})


@pytest.fixture(scope="session")
def airflow_home() -> Iterator[Path]:
    """AIRFLOW_HOME in a temp folder with `airflow db migrate` run in it."""
    migrated = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"],
                              env=dict(os.environ), capture_output=True, text=True,
                              timeout=600)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    yield _AIRFLOW_HOME
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def dagbag(airflow_home: Path) -> Any:
    """The DAGs in `dags/`, parsed as the DAG processor would."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))
