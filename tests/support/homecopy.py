"""A private copy of a HOMEPRICE_HOME that is really private: its absolute paths moved along.

MLflow records absolute locations in its database (experiments' and logged models' artifact
locations, runs' artifact URIs, lineage tags) and the lake records absolute paths in its JSON
manifests. A plain `copytree` keeps them pointing at the original, so a test that logs a run or
writes the lake through its "private" copy would write into the shared original (the session's
trained home) and into every test after it. Here every such path is rewritten to the copy.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

# Where the copied home keeps absolute paths: MLflow's SQLite store, and the lake's and the
# reports' JSON (artifacts under artifacts/ are logged content, left as they were logged).
_JSON_FOLDERS = ("lake", "reports")


def copy_home(source: Path, target: Path,
              ignore: Callable[[str, list[str]], set[str]] | None = None) -> Path:
    """Copy the home `source` to `target` and point every absolute path in it at `target`."""
    shutil.copytree(source, target, ignore=ignore)
    old, new = str(source), str(target)
    database = target / "mlflow.db"
    if database.exists():
        with sqlite3.connect(database) as db:
            tables = [row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for _, column, kind, *_ in db.execute(f'PRAGMA table_info("{table}")'):
                    if any(text in kind.upper() for text in ("CHAR", "TEXT", "CLOB")):
                        db.execute(f'UPDATE "{table}" SET "{column}" = '
                                   f'replace("{column}", ?, ?) WHERE "{column}" LIKE ?',
                                   (old, new, f"%{old}%"))
    for folder in _JSON_FOLDERS:
        for path in (target / folder).rglob("*.json"):
            text = path.read_text()
            if old in text:
                path.write_text(text.replace(old, new))
    return target
