"""Run-time traffic settings shared by the worker processes of one server.

`POST /v1/admin/{dataset}/traffic` reaches one worker; that worker writes the new setting
here, and every worker reads it back on its reload poll, so all of them route alike within
one `serving.reload_interval_seconds`. One small JSON file per dataset, replaced atomically
(write a temporary file, then rename), so a reader sees the old or the new setting, never half
of one, and changes of different datasets never overwrite each other.

The folder belongs to one server run (`homeprice serve` creates and removes it): a restarted
server starts from the configuration again, as a single-process server always has.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError

from homeprice.atomic import write_text
from homeprice.config import TrafficSettings

log = logging.getLogger(__name__)


class TrafficStore:
    """The traffic setting of each dataset, as files in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "traffic"
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, dataset: str) -> Path:
        return self.folder / f"{dataset}.json"

    def save(self, dataset: str, setting: TrafficSettings) -> None:
        """Make `setting` the shared setting of `dataset`."""
        write_text(self._path(dataset), setting.model_dump_json())

    def load(self, dataset: str) -> TrafficSettings | None:
        """The shared setting of `dataset`; None when none was saved (or it is unreadable)."""
        try:
            text = self._path(dataset).read_text()
        except FileNotFoundError:
            return None
        try:
            return TrafficSettings.model_validate_json(text)
        except ValidationError as error:
            # Only this module writes the file; keep routing as before rather than fail.
            log.error("ignoring unreadable traffic setting %s: %s", self._path(dataset), error)
            return None
