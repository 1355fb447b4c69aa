"""Models: versions with aliases and metrics, the audit history, admin actions with a token."""

from __future__ import annotations

import httpx
from streamlit.testing.v1 import AppTest

from tests.support.ui import ADMIN_TOKEN, button, open_page


def test_versions_history_and_admin_actions(ui: AppTest, api_url: str) -> None:
    app = open_page(ui, "models")
    registered = httpx.get(f"{api_url}/v1/insights/california/models").json()
    versions, history = (frame.value for frame in app.dataframe)
    assert list(versions["version"]) == [v["version"] for v in registered["versions"]]
    champion = versions.set_index("version").loc[registered["versions"][-1]["version"]]
    assert "champion" in champion["aliases"] and champion["rmse"] > 0
    # The lifecycle stage column (registry.stages) reaches the page.
    assert champion["stage"] == "champion"
    assert len(history) == len(registered["history"]) >= 1
    assert app.get("vega_lite_chart")

    app.text_input(key="rollback-reason-california").input("testing the UI")
    app.text_input(key="rollback-token-california").input("not the token")
    button(app, "Roll back").click().run()
    assert app.error[0].value.startswith("the admin token was refused")

    app.text_input(key="rollback-token-california").input(ADMIN_TOKEN)
    button(app, "Roll back").click().run()
    # The token was accepted; the registry has no earlier champion to go back to.
    assert "no previous champion" in app.error[0].value
    after = httpx.get(f"{api_url}/v1/insights/california/models").json()
    assert after["history"] == registered["history"]
