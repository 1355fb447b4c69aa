"""Where the repository and the real data are, and a file lister for asserting what was written."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
DAGS = REPO / "dags"


def files_under(path: Path) -> list[Path]:
    """Every file below `path` (empty when it does not exist)."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []
