"""Price a home: a form generated from the API's request model -> price, interval, explanation,
and the comparable homes the price rests on (a table, markers on the map, a warning when the
model's price is outside their range)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit as st

from homeprice.datasets import get_dataset
from homeprice.ui import charts, forms, page_setup
from homeprice.ui.client import ApiClient, ApiError, ApiUnreachable
from homeprice.ui.comparables import comparables_table


def _location_options(client: ApiClient, dataset: str) -> dict[str, list[str]]:
    """Known locations as choices, when the dataset has named locations."""
    try:
        found = client.insight(dataset, "locations")
    except ApiError:
        return {}  # no named locations (or no champion yet): a free text field stays
    except ApiUnreachable as error:
        page_setup.stop_with(error)
    return {"location": [entry["location"] for entry in found["locations"]]}


def _map(home: dict[str, Any], comps: list[dict[str, Any]]) -> None:
    """Where the block group is, and its comparables around it (pydeck; the base map is the
    browser's business)."""
    point = pd.DataFrame([{"lat": home["latitude"], "lon": home["longitude"]}])
    layers = [pdk.Layer("ScatterplotLayer", point, get_position="[lon, lat]",
                        get_radius=600, get_fill_color=[214, 39, 40, 220], pickable=False)]
    located = [c for c in comps if c["features"].get("latitude") is not None]
    if located:
        markers = pd.DataFrame([{"lat": c["features"]["latitude"],
                                 "lon": c["features"]["longitude"], "id": c["id"],
                                 "price": c["price"]} for c in located])
        layers.append(pdk.Layer("ScatterplotLayer", markers, get_position="[lon, lat]",
                                get_radius=350, get_fill_color=[31, 119, 180, 200],
                                pickable=True))
    # Close enough to tell the comps apart: they are within a few km of the home.
    zoom = 11 if located else 7
    view = pdk.ViewState(latitude=home["latitude"], longitude=home["longitude"], zoom=zoom)
    st.pydeck_chart(pdk.Deck(layers=layers, initial_view_state=view,
                             tooltip={"text": "{id}: {price}"}), height=320)


def _show_comparables(result: dict[str, Any], unit: str) -> None:
    """The comps' estimate and range beside the model's price, and the comps themselves."""
    st.subheader("Comparable homes")
    comps = result["comparables"]
    if comps is None:
        st.info(result["comparables_error"], icon=":material/info:")
        return
    left, right = st.columns(2)
    left.metric("Comps estimate", charts.money(comps["comps_estimate"], unit))
    right.metric("Comps range", charts.money_range(comps["comps_low"], comps["comps_high"],
                                                   unit))
    if comps["agreement"] == "within":
        st.caption(comps["note"].capitalize() + ".")
    else:
        st.warning(comps["note"].capitalize() + ".", icon=":material/warning:")
    st.dataframe(comparables_table(comps["comparables"], unit), hide_index=True)


def _show(dataset: str, result: dict[str, Any]) -> None:
    """The price, its interval, the model that answered and what moved the price."""
    unit = get_dataset(dataset).target_unit
    prediction, explanation = result["prediction"], result["explanation"]
    left, middle, right = st.columns([1, 1.6, 1])  # the interval needs the room
    left.metric("Price", charts.money(prediction["price"], unit))
    middle.metric("90% interval", charts.money_range(prediction["lower"], prediction["upper"],
                                                     unit))
    right.metric("Model", f"v{prediction['model_version']} ({prediction['variant']})")
    st.altair_chart(charts.interval(prediction["price"], prediction["lower"],
                                    prediction["upper"], unit), width="stretch")
    if explanation is None:
        st.info(result["explain_error"], icon=":material/info:")
    else:
        st.subheader("What moved the price")
        st.caption(f"Base value {charts.money(explanation['base_value'], unit)} plus the "
                   f"contributions below ({explanation['method']}, champion "
                   f"v{explanation['model_version']}).")
        st.altair_chart(charts.contributions(explanation["contributions"]), width="stretch")
    _show_comparables(result, unit)
    if "latitude" in result["home"] and "longitude" in result["home"]:
        st.subheader("Where it is")
        comps = result["comparables"]["comparables"] if result["comparables"] else []
        _map(result["home"], comps)


def _submit(client: ApiClient, dataset: str, home: dict[str, Any],
            slots: dict[str, Any]) -> None:
    """Price and explain `home`; errors go under their fields."""
    try:
        prediction = client.predict(dataset, home)
    except ApiError as error:
        st.session_state.pop(f"price-result-{dataset}", None)
        unplaced = forms.show_field_errors(error.fields, slots)
        st.error("The API refused this home: " + ("; ".join(unplaced) if unplaced
                                                  else "see the fields marked above."))
        return
    except ApiUnreachable as error:
        page_setup.stop_with(error)
    explanation, explain_error = None, None
    try:
        explanation = client.explain(dataset, home)
    except ApiError as error:
        explain_error = f"No explanation: {error.message}"
    comparables, comparables_error = None, None
    try:
        comparables = client.comparables(dataset, home)
    except ApiError as error:  # e.g. 501: a champion registered before comparables existed
        comparables_error = f"No comparables: {error.message}"
    st.session_state[f"price-result-{dataset}"] = {
        "home": home, "prediction": prediction, "explanation": explanation,
        "explain_error": explain_error, "comparables": comparables,
        "comparables_error": comparables_error}


client, dataset = page_setup.page_start("Price a home", "One home, priced by the champion model "
                                                    "with a 90% interval")
specs = page_setup.request_fields(client, dataset)
options = _location_options(client, dataset)
with st.form(f"price-form-{dataset}"):
    values, slots = forms.render(specs, key=f"price-{dataset}", options=options)
    submitted = st.form_submit_button("Price this home", type="primary",
                                      icon=":material/sell:")
if submitted:
    _submit(client, dataset, forms.body(values), slots)
result = st.session_state.get(f"price-result-{dataset}")
if result is not None:
    _show(dataset, result)
