"""Driving the Streamlit UI in tests: its entry file, pages, admin token, page and button
helpers."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.support.paths import REPO

APP = REPO / "src" / "homeprice" / "ui" / "app.py"
ADMIN_TOKEN = "ui-test-admin-token"
SEEDED_HOMES = 40
PAGES = {"price": "pages/price.py", "batch": "pages/batch.py", "models": "pages/models.py",
         "monitoring": "pages/monitoring.py", "data": "pages/data.py"}


def open_page(app: AppTest, page: str) -> AppTest:
    """Run the app, then switch to one of its pages and run that."""
    app.run()
    if page != "price":
        app.switch_page(PAGES[page]).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def button(app: AppTest, label: str) -> Any:
    """The (form submit) button with this label."""
    found = [b for b in app.button if b.label == label]
    assert found, f"no button {label!r} among {[b.label for b in app.button]}"
    return found[0]
