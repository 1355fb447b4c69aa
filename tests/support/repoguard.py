"""What the tests wrote into the repository: a snapshot of its files, and what appeared since.

Tests write only below their temp folders; a file appearing in the checkout, like an `mlruns/`
or `.homeprice/` left by code that fell back to a default relative to the working directory, is
a leak into the developer's tree and into the next test. The check is against the repository's
absolute path, so it holds whatever directory pytest (or a server it starts) runs from.

A developer edits the checkout while the suite runs, so not every change is a leak: changes to
existing files are not checked, and a new source or text file in an existing folder (a new
module, a note) is taken for an edit. Anything in a new folder, and any other new file (a
database, an artifact, a report), is a leak.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

# Caches that tools keep in the checkout by design (all git-ignored).
_IGNORED_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache",
                 "mutants"}
# Editors' scratch files.
_IGNORED_FILES = ("*.swp", "*.swx", "*~", ".#*", "#*#")
# What a developer adds while the suite runs.
_EDITED_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".cfg", ".txt", ".sh", ".ini"}


@dataclass(frozen=True)
class Snapshot:
    """The files and folders below a root, as paths relative to it."""

    files: frozenset[str]
    dirs: frozenset[str]


def snapshot(root: Path) -> Snapshot:
    """Every file and folder below `root`, bar the caches and editors' scratch files."""
    files: set[str] = set()
    dirs: set[str] = set()
    for folder, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in _IGNORED_DIRS]
        relative = os.path.relpath(folder, root)
        dirs.add(relative)
        files.update(os.path.normpath(os.path.join(relative, name)) for name in names
                     if not any(fnmatch.fnmatch(name, pattern) for pattern in _IGNORED_FILES))
    return Snapshot(frozenset(files), frozenset(dirs))


def leaked(before: Snapshot, after: Snapshot) -> list[str]:
    """Files that appeared between two snapshots and are not a developer's edit, sorted."""
    found = []
    for path in after.files - before.files:
        folder = os.path.dirname(path) or "."
        if folder in before.dirs and os.path.splitext(path)[1] in _EDITED_SUFFIXES:
            continue
        found.append(path)
    return sorted(found)
