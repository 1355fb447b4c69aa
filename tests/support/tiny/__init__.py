"""A tiny third dataset living outside homeprice: the plug-in that proves adding a dataset is
adding one folder (registered with HOMEPRICE_PLUGINS=tests.support.tiny).

Its manifest, like a built-in one: settings model and loader, nothing heavier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.tiny.settings import TinySettings

if TYPE_CHECKING:
    from tests.support.tiny.source import Tiny

NAME = "tiny"
SETTINGS = TinySettings


def dataset() -> Tiny:
    """The dataset (imports pandas)."""
    from tests.support.tiny.source import Tiny

    return Tiny()
