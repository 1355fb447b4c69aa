"""Alembic environment of the prediction log: migrates the given connection or sqlalchemy.url."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from homeprice.predictionlog.schema import VERSION_TABLE, metadata

config = context.config
# Any fixed 64-bit key: PostgreSQL advisory lock taken by every `upgrade head` on the log.
_PG_MIGRATION_LOCK = 0x686F6D6570726963  # "homepric"


def _own_names(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """Autogenerate looks at the log's own tables only, not MLflow's in a shared database."""
    return type_ != "table" or name in metadata.tables


def _migrate(connection: sa.Connection) -> None:
    """Run the pending migrations on `connection` in one transaction."""
    context.configure(connection=connection, target_metadata=metadata,
                      # Own version table: MLflow keeps its own `alembic_version` in a database
                      # the log may share with it.
                      version_table=VERSION_TABLE, include_name=_own_names,
                      # Batch mode: SQLite can only alter a table by copying it.
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several server processes start at once; the lock (released at commit) makes the
            # later ones find the tables already at head instead of racing to create them.
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        context.run_migrations()


def _run_offline() -> None:
    """Emit the migration SQL without a database (`alembic upgrade --sql`)."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      version_table=VERSION_TABLE, include_name=_own_names, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    """Migrate the connection PredictionLog passes in, or open one from sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            _migrate(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
