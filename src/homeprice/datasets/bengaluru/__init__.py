"""Bengaluru property listings (Kaggle "Bengaluru House price data"); price in lakh rupees.

The plug-in's manifest: its settings model and how to load it, nothing heavier, so listing
datasets never imports pandas (see homeprice.datasets.catalogue).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeprice.datasets.bengaluru.settings import BengaluruSettings

if TYPE_CHECKING:
    from homeprice.datasets.bengaluru.source import Bengaluru

# Listed second, after California, as it was before the plug-ins.
ORDER = 2
SETTINGS = BengaluruSettings


def dataset() -> Bengaluru:
    """The dataset, with its parsers, feature builder and request model (imports pandas)."""
    from homeprice.datasets.bengaluru.source import Bengaluru

    return Bengaluru()
