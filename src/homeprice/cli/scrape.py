"""`homeprice scrape`: one polite scraper run of a site config into the lake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from homeprice.cli.render import err, out
from homeprice.config import load_settings

app = typer.Typer()


@app.command("scrape")
def scrape_site(
    site: Annotated[
        Path, typer.Option("--site", help="Site config (YAML), e.g. config/sites/magicbricks.yaml.")
    ],
    max_pages: Annotated[
        int | None,
        typer.Option(
            "--max-pages",
            min=1,
            help="Fetch at most this many results pages (the site config's "
            "max_pages is the hard cap).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Scrape new listings of a site politely into the lake (robots.txt, rate limit, resume)."""
    from homeprice.scraping.run import scrape
    from homeprice.scraping.siteconfig import load_site_config

    result = scrape(load_site_config(site), load_settings(), max_pages=max_pages)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        out.print(
            f"[green]scraped[/] {result.site} -> {result.dataset}: {result.pages} pages, "
            f"{result.requests} requests in {result.seconds:.1f} s "
            f"({result.listings_per_second:.1f} listings/s); {result.listings_new} new, "
            f"{result.listings_known} known, {result.quarantined} quarantined"
            + (" (resumed)" if result.resumed else ""),
            highlight=False,
        )
        if result.raw_sha256:
            out.print(f"  raw {result.raw_sha256} ({result.raw_rows:,} listings)", highlight=False)
        if result.quarantine_path:
            out.print(f"  quarantine {result.quarantine_path}", highlight=False)
        for note in result.notes:
            out.print(f"  note: {note}", highlight=False)
    if result.stopped:
        err.print(
            f"[bold {'red' if result.refused else 'yellow'}]stopped:[/] {result.stopped}",
            highlight=False,
            soft_wrap=True,
        )
    if result.refused:
        raise typer.Exit(1)
