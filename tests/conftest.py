"""Test-suite setup: the shared fixtures plugin, the kind markers, and the test order's seed.

Tests mirror `src/homeprice/`; what kind a test is (slow, e2e, postgres, browser) is a marker,
so `pytest -m "not e2e"` picks a quick subset. Helpers live in `tests/support/`.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

# OpenMP threads sleep when idle: two test workers, each training with 2 threads beside test
# servers, want more cores than the machine has, and spinning threads then hold the cores
# their peers need (benchmarks/openmp_wait.py: three 2-thread LightGBM fits at once on 2 cores
# took 13.8 s each spinning, 4.0 s passive). Set before anything loads the OpenMP runtime;
# subprocesses (CLI, servers, DAG runs) inherit it. homeprice itself leaves the default, which
# is 9x faster on free cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Every training in the run (the session's trained home, the CLI, DAG, DVC and retraining
# subprocesses, which inherit this) calibrates its intervals over 2 folds instead of 5: about
# half the fast pipeline's time (57 s against 108 s for California). Cross-fitting itself, at
# 5 folds and more, is tested in tests/training/test_fitting.py.
os.environ.setdefault("HOMEPRICE_TRAINING__INTERVAL_FOLDS", "2")

# Every `homeprice serve` a test starts runs one process unless the test asks for more
# (tests/serving/test_workers.py): the default, "auto", would start one per core, doubling
# each test server's start-up and memory beside the other test worker on a 2-core machine.
os.environ.setdefault("HOMEPRICE_SERVING__WORKERS", "1")
# No background compile of trees per test server either: minutes of a core per model, next to
# the tests (tests/serving/test_compiled_trees.py asks for it, on small models).
os.environ.setdefault("HOMEPRICE_SERVING__COMPILED_TREES", "false")

@pytest.fixture
def tmp_path(tmp_path: Path) -> Path:
    """pytest's tmp_path, one folder down under a name no other test had.

    A passing test's tmp_path is deleted when it ends (tmp_path_retention_policy in
    pyproject.toml), so the next test of the same name gets the same path again, and the same
    URIs (the MLflow store of its home). MLflow caches stores and their SQLite connections by
    URI, and SQLite in one process shares state per file: the second test's every write then
    failed with "attempt to write a readonly database" (seen in CI when the parameters of one
    test ran back to back on one worker).
    """
    path = tmp_path / uuid.uuid4().hex[:8]
    path.mkdir()
    return path


pytest_plugins = ["tests.support.fixtures"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    """Print pytest-randomly's seed last, even under -q (which hides the header that has it),
    so an order-dependent failure can be replayed."""
    if not config.pluginmanager.has_plugin("randomly"):
        return
    seed = config.getoption("randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"test order: pytest-randomly seed {seed} "
                                    f"(replay with -p randomly --randomly-seed={seed})")
