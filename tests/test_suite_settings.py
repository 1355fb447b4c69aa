"""The suite's own settings: a hung test fails with a clear message instead of stalling CI,
and the tests of one xdist group run on one worker."""

from __future__ import annotations

import tomllib

import pytest

from tests.support.paths import REPO

pytest_plugins = ["pytester"]


def test_a_hung_subprocess_fails_its_test_with_a_stack_trace(pytester: pytest.Pytester) -> None:
    """Guards the pytest-timeout settings in pyproject.toml: a generous per-test limit, and a
    method that interrupts a test blocked waiting on a child process (shown here with the
    limit shortened to 2 s)."""
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]
    assert options["timeout"] >= 300  # the real-server tests need minutes on a busy machine
    pytester.makeini(f"[pytest]\ntimeout = 2\ntimeout_method = {options['timeout_method']}\n"
                     f"timeout_func_only = {str(options['timeout_func_only']).lower()}\n")
    pytester.makepyfile("""
        import subprocess
        import sys

        def test_hangs():
            subprocess.run([sys.executable, "-c", "import time; time.sleep(120)"])
    """)

    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=100)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Timeout (>2.0s) from pytest-timeout*"])
    assert result.duration < 60


def test_an_xdist_group_runs_on_one_worker(pytester: pytest.Pytester) -> None:
    """Guards `make test`'s `--dist loadgroup`: tests of one xdist_group (the real-stack tests,
    which take the same preferred ports; the Spark tests, which share a JVM) run on one worker.
    pytest 9.2 broke this silently with pytest-xdist 3.8 (see the pin in pyproject.toml)."""
    pytester.makepyfile(test_grouped="""
        import pytest

        pytestmark = pytest.mark.xdist_group("stack")

        @pytest.mark.parametrize("i", range(6))
        def test_grouped(i):
            pass
    """, test_free="""
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_free(i):
            pass
    """)

    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-p", "randomly",
                                           "-v", timeout=200)

    result.assert_outcomes(passed=12)
    # -v names each test with its group and the worker that ran it.
    grouped = [line for line in result.outlines if "PASSED" in line and "test_grouped" in line]
    assert len(grouped) == 6 and all("@stack" in line for line in grouped), result.outlines
    workers = {line.split("]")[0] for line in grouped}
    assert len(workers) == 1, grouped
