"""Price a home: the generated form, the price and interval, errors under fields, API down."""

from __future__ import annotations

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from homeprice.ui.charts import money, money_range
from tests.support.bodies import CALIFORNIA
from tests.support.servers import free_port
from tests.support.ui import APP, PAGES, button, open_page


def test_the_form_prices_a_california_home(ui: AppTest, api_url: str) -> None:
    app = open_page(ui, "price")
    # The form is generated from the API's schema and starts from its example home.
    assert app.number_input(key="price-california-latitude").value == CALIFORNIA["latitude"]
    assert app.selectbox(key="price-california-ocean_proximity").options == [
        "<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND"]
    button(app, "Price this home").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]

    expected = httpx.post(f"{api_url}/v1/california/predict", json=CALIFORNIA).json()
    shown = {m.label: m.value for m in app.metric}
    assert shown["Price"] == money(expected["price"], "USD")
    assert shown["90% interval"] == money_range(expected["lower"], expected["upper"], "USD")
    assert shown["Model"] == f"v{expected['model_version']} ({expected['variant']})"
    kinds = [element.type for element in app.main]
    assert len(app.get("vega_lite_chart")) == 2, kinds  # the interval and the contributions
    assert app.get("deck_gl_json_chart"), kinds  # the map of the location


def test_an_input_the_api_rejects_is_shown_under_its_field(ui: AppTest) -> None:
    app = open_page(ui, "price")
    app.selectbox(key="Price a home-dataset").select("bengaluru").run()
    # Known locations come from the API as a searchable select.
    assert "Whitefield" in app.selectbox(key="price-bengaluru-location").options
    app.text_input(key="price-bengaluru-total_sqft").input("a lot of space")
    button(app, "Price this home").click().run()
    messages = [e.value for e in app.error]
    assert any(m.startswith("Value error, must be a positive area") for m in messages), messages
    assert "Price" not in [m.label for m in app.metric]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_says_plainly_when_the_api_is_down(page: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HOMEPRICE_UI__API_URL", url)
    app = open_page(AppTest.from_file(str(APP), default_timeout=60), page)
    assert [e.value for e in app.error] and f"unreachable at {url}" in app.error[0].value
