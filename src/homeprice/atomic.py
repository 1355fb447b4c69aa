"""Files replaced in one step: readers see the old content or the new, never half of either.

Reports, step results, batch outputs and the shared traffic settings are read by other
processes (servers, the UI, DVC) while they may be rewritten.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, moved onto it when the block succeeds.

    The temporary name is unique, so concurrent writers never share it; a failed block
    leaves `target` untouched and no temporary file behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    os.chmod(temp, 0o644)  # mkstemp's 0600 would hide reports from other local users
    try:
        yield Path(temp)
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)


def write_text(target: Path, text: str) -> None:
    """Replace `target` with `text`."""
    with replacing(target) as temp:
        temp.write_text(text)
