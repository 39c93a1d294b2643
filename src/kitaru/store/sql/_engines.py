"""Engines of the SQL store: URL checks, SQLite settings and the transaction modes.

Connections run in driver autocommit mode and transactions are begun
explicitly: a read is a single statement that needs no transaction of its
own (one round trip on PostgreSQL), a write begins with ``BEGIN`` on
PostgreSQL and with ``BEGIN IMMEDIATE`` on SQLite, which takes the write lock
up front, so it waits for other writers through the busy timeout instead of
failing with "database is locked" on a lock upgrade. The store begins its
transactions on the driver connection itself; SQLAlchemy connections
(migrations) get the same statement from a ``begin`` event hook.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import QueuePool

from kitaru.config import mask_url
from kitaru.errors import KitaruFeatureNotAvailableError, KitaruUsageError
from kitaru.store.sql._sqlite import SQLITE_BUSY_TIMEOUT_S, configure_connection, prepare_database_file

__all__ = ["StoreEngines", "create_engines", "sqlite_url"]

_BEGIN_OPTION = "kitaru_begin"
# SQLAlchemy's wrappers of the drivers' operational errors, and its pool running dry.
_TRANSIENT: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
)
_BEGIN_WRITE = "BEGIN IMMEDIATE"


@dataclass(frozen=True, slots=True)
class StoreEngines:
    """The engines of one store, sharing one connection pool.

    Attributes:
        write: Engine whose connections begin write transactions (holding
            SQLite's write lock).
        read: Engine for reads (each one statement) and the pool's owner.
        write_begin: The statement that begins a write transaction on a
            pooled driver connection.
        name: The store's URL without password, for messages.
        errors: Exception types that mean the database failed.
        integrity_errors: Exception types of violated constraints.
        transient_errors: Exception types of failures that may pass (the database
            unreachable or restarting, a full disk, a lock timeout).
    """

    write: Engine
    read: Engine
    write_begin: str
    name: str
    errors: tuple[type[BaseException], ...]
    integrity_errors: tuple[type[BaseException], ...]
    transient_errors: tuple[type[BaseException], ...]


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """Return the SQLAlchemy URL of a SQLite file.

    Example:
        >>> sqlite_url("/tmp/kitaru.db")
        'sqlite:////tmp/kitaru.db'
    """
    return URL.create("sqlite", database=str(Path(path).expanduser().absolute())).render_as_string()


def create_engines(url: str) -> StoreEngines:
    """Create the engines for ``url`` (a SQLite file or a PostgreSQL database).

    Raises:
        KitaruUsageError: The URL is not a SQLite file or a PostgreSQL URL.
        KitaruFeatureNotAvailableError: The PostgreSQL driver is not installed.
    """
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: e.g. a port that is no number
        raise KitaruUsageError(
            f"Invalid store URL {mask_url(url)!r}: it is not a valid URL (a port is a number; '@', "
            "':' and '/' in a password are written %40, %3A and %2F). Use 'sqlite:///path/to/file.db' "
            "or 'postgresql+psycopg://user:password@host/database'."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engines(parsed)
    if backend in ("postgresql", "postgres"):
        return _postgres_engines(parsed)
    raise KitaruUsageError(
        f"Unsupported store URL {mask_url(url)!r}: use 'sqlite:///path/to/file.db' "
        "or 'postgresql+psycopg://user:password@host/database'."
    )


def _sqlite_engines(url: URL) -> StoreEngines:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise KitaruUsageError(
            f"The SQLite store needs a file, got {url.render_as_string()!r}; use 'sqlite:///path/to/file.db'."
        )
    prepare_database_file(database)
    engine = sa.create_engine(
        url,
        poolclass=QueuePool,
        pool_size=8,
        max_overflow=120,
        pool_timeout=SQLITE_BUSY_TIMEOUT_S,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_transaction)
    return StoreEngines(
        write=engine.execution_options(**{_BEGIN_OPTION: _BEGIN_WRITE}),
        read=engine,
        write_begin=_BEGIN_WRITE,
        name=database,
        errors=(sa.exc.SQLAlchemyError, sqlite3.Error),
        integrity_errors=(sa.exc.IntegrityError, sqlite3.IntegrityError),
        transient_errors=(*_TRANSIENT, sqlite3.OperationalError),
    )


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    # Autocommit at the driver: transactions are begun explicitly (see the begin hook).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        configure_connection(cursor)
    finally:
        cursor.close()


def _configure_postgres_connection(dbapi_connection: Any, connection_record: Any) -> None:
    # Autocommit at the driver: transactions are begun explicitly (see the begin hook).
    dbapi_connection.autocommit = True


def _begin_transaction(connection: sa.Connection) -> None:
    statement = connection.get_execution_options().get(_BEGIN_OPTION)
    if statement is not None:
        # Straight to the driver, as the store's own transactions do.
        cast(Any, connection.connection.driver_connection).execute(statement)


def _postgres_engines(url: URL) -> StoreEngines:
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    try:
        import psycopg
    except ImportError as exc:
        raise KitaruFeatureNotAvailableError(
            "PostgreSQL stores need the psycopg driver: pip install 'kitaru[postgres]'."
        ) from exc
    engine = sa.create_engine(url, poolclass=QueuePool, pool_size=8, max_overflow=32, pool_timeout=60)
    event.listen(engine, "connect", _configure_postgres_connection)
    event.listen(engine, "begin", _begin_transaction)
    return StoreEngines(
        write=engine.execution_options(**{_BEGIN_OPTION: "BEGIN"}),
        read=engine,
        write_begin="BEGIN",
        name=mask_url(url.render_as_string(hide_password=False)),
        errors=(sa.exc.SQLAlchemyError, psycopg.Error),
        integrity_errors=(sa.exc.IntegrityError, psycopg.IntegrityError),
        transient_errors=(*_TRANSIENT, psycopg.OperationalError, psycopg.InterfaceError),
    )
