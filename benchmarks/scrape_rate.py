"""Listings per second the scraper sustains at default politeness (1 request/s per host),
against a peer run of the same scrape with the rate limit opened up (50 requests/s, allowed
towards a loopback host only), both on the fixture portal of the tests (127.0.0.1, real
Bengaluru listings), in one run. The portal's access log is the clock: the smallest gap
between two requests to the host is printed beside the configured interval.

    PYTHONPATH=src .venv/bin/python benchmarks/scrape_rate.py [--pages 10] [--per-page 12]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]


def measure(pages: int, per_page: int, rate: float | None) -> dict[str, float]:
    """One scrape of the fixture portal (rate None: the site config's default politeness)."""
    from homeprice.config import load_settings
    from homeprice.scraping.run import scrape
    from homeprice.scraping.siteconfig import SiteConfig
    from tests.support.portal import Portal, PortalServer, site_config

    portal = Portal(pages=pages, per_page=per_page)
    server = PortalServer(portal)
    try:
        with tempfile.TemporaryDirectory(prefix="homeprice-scrape-bench-") as home:
            os.environ["HOMEPRICE_HOME"] = home
            politeness = None if rate is None else {"rate_per_second": rate}
            site = SiteConfig.model_validate(site_config(server.url, politeness=politeness))
            result = scrape(site, load_settings())
    finally:
        server.close()
    arrivals = [hit.at for hit in portal.hits]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    listings = result.listings_new + result.quarantined
    interval = 1 / site.politeness.rate_per_second
    return {
        "listings": listings,
        "requests": result.requests,
        "seconds": result.seconds,
        "per_second": listings / result.seconds,
        "interval": interval,
        "min_gap": min(gaps),
        "median_gap": statistics.median(gaps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--per-page", type=int, default=12)
    args = parser.parse_args()
    sys.path[:0] = [str(REPO / "src"), str(REPO)]
    runs = {
        "default politeness (1 request/s)": measure(args.pages, args.per_page, None),
        "rate limit opened up (peer, 50/s)": measure(args.pages, args.per_page, 50.0),
    }
    table = Table(title=f"Scraping {args.pages} pages of {args.per_page} listings on 127.0.0.1")
    for column in (
        "run",
        "listings",
        "requests",
        "seconds",
        "listings/s",
        "interval s",
        "min gap s",
        "median gap s",
    ):
        table.add_column(column, justify="left" if column == "run" else "right")
    for name, run in runs.items():
        table.add_row(
            name,
            f"{run['listings']:.0f}",
            f"{run['requests']:.0f}",
            f"{run['seconds']:.2f}",
            f"{run['per_second']:.1f}",
            f"{run['interval']:.3f}",
            f"{run['min_gap']:.3f}",
            f"{run['median_gap']:.3f}",
        )
    console = Console(width=140)
    console.print(table)
    default, peer = runs.values()
    console.print(
        f"default politeness sustains {default['per_second']:.1f} listings/s, "
        f"{default['per_second'] / peer['per_second']:.3f}x the peer's "
        f"{peer['per_second']:.1f}; smallest gap {default['min_gap']:.3f} s against "
        f"the configured {default['interval']:.3f} s "
        f"({'kept' if default['min_gap'] >= default['interval'] else 'BROKEN'})"
    )


if __name__ == "__main__":
    main()
