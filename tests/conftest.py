"""Test-suite setup: the shared fixtures plugin and the kind markers.

Tests mirror `src/homeprice/`; what kind a test is (slow, e2e, postgres, browser) is a marker,
so `pytest -m "not e2e"` picks a quick subset. Helpers live in `tests/support/`.
"""

from __future__ import annotations

pytest_plugins = ["tests.support.fixtures"]
