"""Test-suite setup: the shared fixtures plugin, the kind markers, and the test order's seed.

Tests mirror `src/homeprice/`; what kind a test is (slow, e2e, postgres, browser) is a marker,
so `pytest -m "not e2e"` picks a quick subset. Helpers live in `tests/support/`.
"""

from __future__ import annotations

import pytest

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
