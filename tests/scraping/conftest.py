"""The fixture portal on 127.0.0.1 for the scraper tests (tests/support/portal.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.portal import Portal, PortalServer


@pytest.fixture
def portal() -> Portal:
    """Six results pages of ten real Bengaluru listings (change it before serving)."""
    return Portal()


@pytest.fixture
def server(portal: Portal) -> Iterator[PortalServer]:
    """The portal, served on 127.0.0.1."""
    running = PortalServer(portal)
    yield running
    running.close()
