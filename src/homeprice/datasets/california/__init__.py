"""California housing: 1990 census block groups with `ocean_proximity` (Géron's version).

The plug-in's manifest: its settings model and how to load it, nothing heavier, so listing
datasets never imports pandas (see homeprice.datasets.catalogue).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeprice.datasets.california.settings import CaliforniaSettings

if TYPE_CHECKING:
    from homeprice.datasets.california.source import California

# Listed first (`--dataset all`, API docs, the served list), as it was before the plug-ins.
ORDER = 1
SETTINGS = CaliforniaSettings


def dataset() -> California:
    """The dataset, with its parsers, feature builder and request model (imports pandas)."""
    from homeprice.datasets.california.source import California

    return California()
