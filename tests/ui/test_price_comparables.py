"""The Price page's comparables: the comps' estimate and range beside the price, a table of the
comps and markers around the home on the map, and a warning when the price is outside their
range."""

from __future__ import annotations

import httpx
import pandas as pd
from streamlit.testing.v1 import AppTest

from homeprice.ui.charts import money, money_range
from homeprice.ui.comparables import comparables_table
from tests.support.bodies import CALIFORNIA
from tests.support.ui import button, open_page


def test_the_price_page_shows_the_comparables(ui: AppTest, api_url: str) -> None:
    app = open_page(ui, "price")
    button(app, "Price this home").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]

    expected = httpx.post(f"{api_url}/v1/california/comparables", json=CALIFORNIA).json()
    shown = {m.label: m.value for m in app.metric}
    assert shown["Comps estimate"] == money(expected["comps_estimate"], "USD")
    assert shown["Comps range"] == money_range(expected["comps_low"], expected["comps_high"],
                                               "USD")
    table = app.dataframe[0].value
    assert table["id"].tolist() == [c["id"] for c in expected["comparables"]]
    if expected["agreement"] == "within":
        assert not app.warning
    else:
        assert app.warning[0].value.startswith(f"The model price is {expected['agreement']}")
    deck = app.get("deck_gl_json_chart")[0].proto.json
    assert expected["comparables"][0]["id"] in deck  # the comps are markers on the map


def test_the_comparables_table_reads_plainly() -> None:
    comps = [{"id": "train:4", "price": 250_000.0, "where": "1.2 km",
              "differs_most": [{"measure": "median income", "home": 8.3252,
                                "comparable": 5.1}],
              "features": {"latitude": 37.9, "longitude": -122.2, "ocean_proximity": "NEAR BAY"}}]
    table = comparables_table(comps, "USD")
    assert isinstance(table, pd.DataFrame)
    assert table.iloc[0].to_dict() == {
        "id": "train:4", "price": money(250_000.0, "USD"), "where": "1.2 km",
        "differs most (comp vs this home)": "median income: 5.1 vs 8.325",
        "ocean_proximity": "NEAR BAY"}
