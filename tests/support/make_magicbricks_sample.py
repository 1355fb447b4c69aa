"""Make the magicbricks dataset's bundled sample: scrape the fixture portal (real Bengaluru
listings in a portal's format, tests/support/portal.py) with the real scraper, and write the
raw table it stored as CSV (scraped_at fixed, so the file is the same on every run).

    PYTHONPATH=src:. .venv/bin/python tests/support/make_magicbricks_sample.py
"""

from __future__ import annotations

import hashlib
import os
import tempfile

from tests.support.paths import REPO
from tests.support.portal import Portal, PortalServer, site_config

TARGET = (
    REPO / "src" / "homeprice" / "datasets" / "magicbricks" / "sample" / "magicbricks_listings.csv"
)
PAGES, PER_PAGE = 40, 25


def main() -> None:
    from homeprice.config import load_settings
    from homeprice.data.lake import Lake
    from homeprice.scraping.run import scrape
    from homeprice.scraping.siteconfig import SiteConfig

    server = PortalServer(Portal(pages=PAGES, per_page=PER_PAGE))
    try:
        with tempfile.TemporaryDirectory(prefix="homeprice-sample-") as home:
            os.environ["HOMEPRICE_HOME"] = home
            settings = load_settings()
            site = SiteConfig.model_validate(
                site_config(server.url, politeness={"rate_per_second": 50}, max_pages=100)
            )
            result = scrape(site, settings)
            raw = Lake(settings.lake_root).read_raw("magicbricks", result.raw_sha256)
    finally:
        server.close()
    raw["scraped_at"] = "2026-12-01T00:00:00+00:00"
    raw.to_csv(TARGET, index=False)
    digest = hashlib.sha256(TARGET.read_bytes()).hexdigest()
    print(f"{TARGET}: {len(raw)} listings, sha256 {digest}")


if __name__ == "__main__":
    main()
