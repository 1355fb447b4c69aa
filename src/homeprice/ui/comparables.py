"""The comparables of a priced home as a table people read (the Price page shows it)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from homeprice.ui import charts


def comparables_table(comps: list[dict[str, Any]], unit: str) -> pd.DataFrame:
    """One row per comparable: its id, price, where it is, what differs and what it is."""
    rows = []
    for comp in comps:
        differs = "; ".join(f"{d['measure']}: {_short(d['comparable'])} vs {_short(d['home'])}"
                            for d in comp["differs_most"])
        rows.append({"id": comp["id"], "price": charts.money(comp["price"], unit),
                     "where": comp["where"], "differs most (comp vs this home)": differs,
                     # The coordinates are the map's: as numbers in a table they say little.
                     **{k: v for k, v in comp["features"].items()
                        if k not in ("latitude", "longitude")}})
    return pd.DataFrame(rows)


def _short(value: Any) -> str:
    if value is None:
        return "?"
    return f"{value:,.4g}" if isinstance(value, float) else str(value)
