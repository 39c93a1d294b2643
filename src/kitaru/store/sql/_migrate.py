"""Bring a store's schema to the head revision when it opens.

Opening an up-to-date store costs one plain query of ``alembic_version``;
alembic is imported and run only when the revision differs. SQLite stores
read the revision with the ``sqlite3`` driver first (:mod:`kitaru.store.sql._connection`)
and come here, importing SQLAlchemy, only to create or migrate the schema. Migrating runs
under a lock (SQLite's write lock, a PostgreSQL advisory lock), so many
threads and processes opening the same fresh database at once migrate it once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

__all__ = ["HEAD_REVISION", "MIGRATIONS_DIR", "current_revision", "ensure_schema"]

#: The newest migration revision; a test pins it to the migration scripts' head.
HEAD_REVISION = "0010"
#: Where the alembic scripts live.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any fixed number: the key of the PostgreSQL advisory lock held while migrating.
_PG_MIGRATION_LOCK = 0x6B697461_7275


def current_revision(connection: sa.Connection) -> str | None:
    """Return the schema revision recorded in the database, ``None`` when there is none.

    Example:
        >>> # current_revision(connection) -> "0002"
    """
    import sqlalchemy as sa

    try:
        rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except sa.exc.DBAPIError:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def ensure_schema(read_engine: Engine, write_engine: Engine) -> None:
    """Migrate the database to :data:`HEAD_REVISION` unless it is there already.

    ``write_engine`` must begin transactions that hold SQLite's write lock;
    ``read_engine`` is used for the first, lock-free check. Errors of the
    database propagate; the store translates them.
    """
    with read_engine.connect() as connection:
        if current_revision(connection) == HEAD_REVISION:
            return
    import sqlalchemy as sa

    with write_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        # Under the lock alembic reads the revision again: whoever migrated first wins, the rest no-op.
        _upgrade(connection)


def _upgrade(connection: sa.Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
