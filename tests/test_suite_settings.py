"""The suite's own settings: a hung test fails with a clear message instead of stalling CI."""

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
