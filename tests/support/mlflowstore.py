"""Empty SQLite MLflow stores copied from one migrated once per process (a copy takes
milliseconds, MLflow's migrations seconds)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from homeprice import tracking

_TEMPLATE: Path | None = None


def _template() -> Path:
    """The migrated empty store of this process, made on first use (in a temp folder outside
    the checkout, removed at exit). A forked child (mutmut's mutant runs) inherits the path."""
    global _TEMPLATE
    if _TEMPLATE is None or not _TEMPLATE.exists():
        folder = Path(tempfile.mkdtemp(prefix="homeprice-mlflow-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "mlflow.db"
        # Any registry call creates the tables; the answer itself does not matter.
        tracking.registry_client(f"sqlite:///{path}").search_registered_models()
        _TEMPLATE = path
    return _TEMPLATE


def empty_sqlite_store(path: Path) -> str:
    """A fresh, migrated, empty MLflow store at `path` (a SQLite file); its URI."""
    if path.exists():
        raise FileExistsError(f"{path} exists: an empty store goes to a new file")
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template(), path)
    return f"sqlite:///{path}"
