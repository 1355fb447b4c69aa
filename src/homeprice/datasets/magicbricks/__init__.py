"""Magic Bricks-style listings scraped with `homeprice scrape` (price in lakh rupees).

The plug-in's manifest: its settings model and how to load it, nothing heavier, so listing
datasets never imports pandas (see homeprice.datasets.catalogue). `SCRAPED`: its raw data is
made by the scraper, so `--dataset all` includes it only once the lake holds some, and the
server serves it only when asked (`serve --datasets ... magicbricks`, or serving.datasets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeprice.datasets.magicbricks.settings import MagicbricksSettings

if TYPE_CHECKING:
    from homeprice.datasets.magicbricks.source import Magicbricks

# Listed after the two bundled datasets.
ORDER = 3
SETTINGS = MagicbricksSettings
SCRAPED = True


def dataset() -> Magicbricks:
    """The dataset, with its parsers, feature builder and request model (imports pandas)."""
    from homeprice.datasets.magicbricks.source import Magicbricks

    return Magicbricks()
