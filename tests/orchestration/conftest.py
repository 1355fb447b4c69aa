"""An Airflow home for the DAG tests: SQLite metadata, migrated once, these DAGs only.

Airflow reads its configuration when it is first imported, so the environment is set here
before any test module imports it (the test modules import Airflow inside their tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import DAGS


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """AIRFLOW_HOME in a temp folder with `airflow db migrate` run in it."""
    home = tmp_path_factory.mktemp("airflow")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "false",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        migrated = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"],
                                  env=dict(os.environ), capture_output=True, text=True,
                                  timeout=600)
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        yield home


@pytest.fixture(scope="session")
def dagbag(airflow_home: Path) -> Any:
    """The DAGs in `dags/`, parsed as the DAG processor would."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))
