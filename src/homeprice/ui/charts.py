"""Altair charts the pages draw: an interval as a range, contributions, estimates with
confidence intervals."""

from __future__ import annotations

import altair as alt
import pandas as pd

from homeprice.formatting import human_number


def interval(price: float, lower: float, upper: float, unit: str) -> alt.LayerChart:
    """The 90% prediction interval as a bar from lower to upper, the price as a point."""
    frame = pd.DataFrame([{"label": "90% interval", "price": price, "lower": lower,
                           "upper": upper}])
    axis = alt.X("lower:Q", title=unit, scale=alt.Scale(zero=False, nice=True))
    band = alt.Chart(frame).mark_bar(height=18, opacity=0.35, cornerRadius=4).encode(
        x=axis, x2="upper:Q", y=alt.Y("label:N", title=None, axis=None),
        tooltip=[alt.Tooltip("lower:Q", format=",.2f"), alt.Tooltip("upper:Q", format=",.2f")])
    point = alt.Chart(frame).mark_point(filled=True, size=160, color="#d62728").encode(
        x="price:Q", y="label:N", tooltip=[alt.Tooltip("price:Q", format=",.2f")])
    return (band + point).properties(height=80)


def contributions(items: list[dict[str, float]], top: int = 10) -> alt.Chart:
    """The `top` contributions by size, as horizontal bars coloured by direction."""
    frame = pd.DataFrame(items)
    frame = frame.reindex(frame["contribution"].abs().sort_values(ascending=False).index)
    frame = frame.head(top).assign(direction=lambda f: f["contribution"].map(
        lambda v: "raises the price" if v >= 0 else "lowers the price"))
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("contribution:Q", title="contribution to the price"),
        y=alt.Y("field:N", sort=None, title=None),
        color=alt.Color("direction:N", scale=alt.Scale(
            domain=["raises the price", "lowers the price"], range=["#2ca02c", "#d62728"]),
            legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["field", alt.Tooltip("contribution:Q", format=",.4g")])


def estimates(frame: pd.DataFrame, title: str, target: float | None = None) -> alt.LayerChart:
    """Point estimates (`mean`) with their interval (`lower`..`upper`) per `name`; an optional
    target drawn as a dashed line."""
    base = alt.Chart(frame).encode(y=alt.Y("name:N", title=None))
    layers = [
        base.mark_rule(strokeWidth=3).encode(
            x=alt.X("lower:Q", title=title, scale=alt.Scale(zero=False)), x2="upper:Q"),
        base.mark_point(filled=True, size=120).encode(
            x="mean:Q", tooltip=["name", alt.Tooltip("mean:Q", format=",.4g"),
                                 alt.Tooltip("lower:Q", format=",.4g"),
                                 alt.Tooltip("upper:Q", format=",.4g")]),
    ]
    if target is not None:
        layers.append(alt.Chart(pd.DataFrame({"target": [target]})).mark_rule(
            strokeDash=[4, 4], color="gray").encode(x="target:Q"))
    return alt.layer(*layers).properties(height=60 + 40 * len(frame))


def money(value: float, unit: str) -> str:
    """A price for people: '452,600 USD', '39.07 lakh INR'."""
    return f"{human_number(value)} {unit}"


def money_range(lower: float, upper: float, unit: str) -> str:
    """An interval for people, the unit once: '328,682 – 500,001 USD'."""
    return f"{human_number(lower)} – {money(upper, unit)}"
