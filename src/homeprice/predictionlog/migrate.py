"""Running the prediction log's Alembic migrations (`migrations/`) without an alembic.ini."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from homeprice.errors import HomepriceError
from homeprice.predictionlog.database import reason, store_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Several stores in one process (tests, CLI + server) must not run migrations at the same time:
# SQLite DDL is not transactional, so two concurrent `upgrade head` would both create tables.
_MIGRATION_LOCK = threading.Lock()


def alembic_config(url: str | URL) -> Config:
    """An Alembic configuration for the prediction log migrations on `url` (no alembic.ini)."""
    parsed = url if isinstance(url, URL) else store_url(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % (URL-encoded passwords) must be doubled.
    rendered = parsed.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(engine: Engine, url: URL) -> None:
    """Run Alembic `upgrade head` on `engine` (the store's own, so SQLite pragmas apply)."""
    config = alembic_config(url)
    alembic_log = logging.getLogger("alembic")
    try:
        with _MIGRATION_LOCK:
            # `upgrade head` logs a few INFO lines on every start; only warnings are news.
            level = alembic_log.level
            alembic_log.setLevel(logging.WARNING)
            try:
                with engine.begin() as connection:
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
            finally:
                alembic_log.setLevel(level)
    except SQLAlchemyError as exc:
        raise HomepriceError(f"cannot prepare the prediction log at "
                             f"{url.render_as_string(hide_password=True)}: "
                             f"{exc.__class__.__name__}: {reason(exc)}") from exc
