"""What every method group of the SQL store shares: opening, transactions, errors.

:class:`StoreCore` opens the engines, migrates the schema and compiles the
statements; the method groups (executions, lifecycle, calls, waits, logs,
artifacts) are classes on top of it that :class:`kitaru.store.sql.SqlStore`
combines. Database errors are translated here, and so are the messages about
missing rows.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, NoReturn, Self, cast

from kitaru._types import ExecutionStatus
from kitaru.config import mask_url, url_passwords
from kitaru.errors import KitaruBackendError, KitaruError, KitaruFencedError, KitaruStateError
from kitaru.store._common import status_of
from kitaru.store.sql._migrate import HEAD_REVISION
from kitaru.store.sql._prepared import Savepoint, Transaction
from kitaru.store.sql._sqlite import SqlitePool, SqliteStatements, is_read_only_error, sqlite_database

if TYPE_CHECKING:
    from kitaru.store.sql._statements import Statements

__all__ = ["StoreCore", "status_of", "status_value"]

# How SQLite write transactions begin: they then take turns (one writer at a time).
_SQLITE_WRITE_BEGIN = "BEGIN IMMEDIATE"


class StoreCore:
    """The engines, statements and error handling of one SQL store.

    Args:
        url: ``sqlite:///path/to/file.db`` or ``postgresql+psycopg://user:pw@host/db``.
    """

    def __init__(self, url: str) -> None:
        self._write_begin = _SQLITE_WRITE_BEGIN
        self._write_lock: Any = None
        #: Per thread: the connection of a transaction that the store's own transactions join
        #: (as savepoints) while it is open (see :mod:`kitaru.store.sql._idempotency`).
        self._joined = threading.local()
        self._errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
        self._integrity_errors: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)
        # Locked, full, unreadable: what may pass when tried again (a runner retries those).
        self._transient_errors: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)
        #: Passwords of the URL: never part of a message, even where a driver repeats them.
        self._secrets = url_passwords(url)
        database = sqlite_database(url)
        self._shared = database is None  # a database server: other users and machines write it too
        if database is not None:
            self._name = database
            self._open_sqlite(url, database)
        else:
            self._name = mask_url(url)
            self._open_sqlalchemy(url)

    def _open_sqlite(self, url: str, database: str) -> None:
        # The hot path: the sqlite3 driver and statements compiled ahead of time. SQLAlchemy
        # and Alembic are imported only to create or migrate the schema.
        try:
            pool = SqlitePool(database)
        except OSError as exc:
            raise self._cannot_create(database, exc) from exc
        try:
            revision = pool.revision()
            if pool.read_only and revision != HEAD_REVISION:
                raise KitaruBackendError(
                    f"The store '{database}' is read-only for this user and its schema is not the one "
                    f"this Kitaru uses (revision {revision or 'none'}, needed {HEAD_REVISION}), so it cannot "
                    "be created or upgraded here. Open it once as a user who may write the file and its "
                    "directory."
                )
            if revision != HEAD_REVISION:
                self._open_sqlalchemy(url)
                self._engine.dispose()
                self._errors, self._integrity_errors = (sqlite3.Error,), (sqlite3.IntegrityError,)
                self._transient_errors = (sqlite3.OperationalError,)
            self._engine: Any = pool
            self._write_lock = pool.write_lock
            self._s = cast("Statements", SqliteStatements())
        except BaseException as exc:
            pool.dispose()
            self._wrap_open_error(exc)

    def _open_sqlalchemy(self, url: str) -> None:
        from kitaru.store.sql._engines import create_engines
        from kitaru.store.sql._migrate import ensure_schema
        from kitaru.store.sql._statements import Statements

        try:
            engines = create_engines(url)
        except OSError as exc:
            raise self._cannot_create(self._name, exc) from exc
        self._engine = engines.read
        self._write_begin = engines.write_begin
        self._name = engines.name
        self._errors = engines.errors
        self._integrity_errors = engines.integrity_errors
        self._transient_errors = engines.transient_errors
        try:
            ensure_schema(engines.read, engines.write)
            # Compiled after the first connect, when the dialect knows the server's settings.
            self._s = Statements(engines.read.dialect)
        except BaseException as exc:
            engines.read.dispose()
            self._wrap_open_error(exc)

    def _cannot_create(self, database: str, exc: OSError) -> KitaruBackendError:
        reason = exc.strerror or str(exc)
        folder = exc.filename if exc.filename and str(exc.filename) != database else None
        folder = folder or os.path.dirname(database) or "."
        return KitaruBackendError(
            f"Could not create the store '{database}': {reason} ({folder}). Make {folder} a "
            "directory this user may write, or use another data directory (KITARU_HOME) or store "
            "(KITARU_STORE_URL)."
        )

    def _wrap_open_error(self, exc: BaseException) -> NoReturn:
        if isinstance(exc, KitaruError) or not isinstance(exc, Exception):
            raise exc
        if _read_only(exc):
            self._raise("open the store", exc)
        hint = ""
        if type(exc).__module__.startswith("alembic"):
            hint = " The store's schema may come from a newer Kitaru; upgrade Kitaru to open it."
        raise KitaruBackendError(f"Could not open store '{self._name}': {self._detail(exc)}.{hint}") from exc

    def _detail(self, exc: BaseException) -> str:
        """The driver's message of ``exc``, without the URL's passwords."""
        text = _detail(exc)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @property
    def name(self) -> str:
        """The store's location (file path or URL without password), as shown in messages."""
        return self._name

    @property
    def shared(self) -> bool:
        """Whether others can write this store: ``True`` for PostgreSQL, ``False`` for a SQLite file."""
        return self._shared

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
        engine = self._engine
        self._engine = _ClosedEngine(self._name)
        if not isinstance(engine, _ClosedEngine):
            engine.dispose()

    # -- transactions -------------------------------------------------------
    def _writing(self, *, commit: bool = True) -> Transaction | Savepoint:
        """A write transaction (``commit=False``: rolled back at the end, a dry run)."""
        connection = getattr(self._joined, "connection", None)
        if connection is not None:
            return Savepoint(connection, keep=commit)
        return Transaction(self._engine, self._write_begin, commit, self._write_lock)

    def _reading(self) -> Transaction | Savepoint:
        connection = getattr(self._joined, "connection", None)
        if connection is not None:
            return Savepoint(connection)
        return Transaction(self._engine, None, False)

    # -- links to other executions' artifacts ----------------------------------
    @property
    def _writers_take_turns(self) -> bool:
        """Whether write transactions run one at a time (SQLite): row locks that order
        concurrent writers are then not needed."""
        return self._write_begin == _SQLITE_WRITE_BEGIN

    def _linkable_artifacts(self, cursor: Any, artifact_ids: Collection[str]) -> set[str]:
        """Return those of ``artifact_ids`` that exist, inside the transaction of ``cursor``,
        and keep them from being deleted until it ends.

        A write that links artifacts of another execution (a cache hit, replay seeds)
        calls this first. On PostgreSQL it takes a key-share lock on the rows of the
        executions that own them: a deletion locks those rows for update before it
        looks for links into them (:mod:`kitaru.store.sql._retention`), so it either
        finishes first (the artifacts are gone here) or waits for this transaction
        and then sees its links. SQLite's writers take turns, so no lock is needed.
        """
        ids = {"b_artifact_ids": sorted(set(artifact_ids))}
        if not ids["b_artifact_ids"]:
            return set()
        if not self._writers_take_turns:
            self._s.share_artifact_owners.all(cursor, ids)
        return {str(row[0]) for row in self._s.existing_artifacts.all(cursor, ids)}

    # -- missing rows -------------------------------------------------------
    def _execution_exists(self, exec_id: str, cursor: Any = None) -> bool:
        """Whether the execution exists; reads on ``cursor`` (inside its transaction) when given."""
        if cursor is not None:
            return self._s.exact_exec_id.one(cursor, {"b_exec_id": exec_id}) is not None
        try:
            with self._reading() as cur:
                return self._s.exact_exec_id.one(cur, {"b_exec_id": exec_id}) is not None
        except self._errors as exc:
            self._raise(f"read execution '{exec_id}'", exc)

    def _require_execution(self, exec_id: str, cursor: Any = None) -> None:
        if not self._execution_exists(exec_id, cursor):
            self._missing_execution(exec_id)

    def _missing_execution(self, exec_id: str) -> NoReturn:
        raise KitaruStateError(
            f"No execution with id '{exec_id}' in store '{self._name}'. "
            "List executions with `kitaru executions list` or KitaruClient().executions.list()."
        )

    def _missing_call(self, call_id: str) -> NoReturn:
        raise KitaruStateError(
            f"No call with id '{call_id}' in store '{self._name}'. "
            "Pass the id of a recorded call (see list_calls of its execution)."
        )

    def _missing_attempt(self, call_id: str, attempt_id: str, *, before: str = "ending it") -> NoReturn:
        raise KitaruStateError(
            f"No attempt with id '{attempt_id}' of call '{call_id}' in store '{self._name}'. "
            f"Record the attempt with begin_attempt() before {before}."
        )

    # -- fencing ------------------------------------------------------------
    def _fence(self, cursor: Any, exec_id: str, epoch: int | None, *, exclusive: bool = False) -> None:
        """Refuse a runner's write whose ``epoch`` is not the execution's (the first statement
        of its transaction; ``None``: not a runner's write, nothing checked). The execution's
        row stays locked until the commit: ``exclusive`` for a write that changes that row.

        Raises:
            KitaruFencedError: The execution's epoch is another one.
            KitaruStateError: The execution does not exist.
        """
        if epoch is None:
            return
        stmt = self._s.lock_epoch if exclusive else self._s.share_epoch
        row = stmt.one(cursor, {"b_exec_id": exec_id})
        if row is None:
            self._missing_execution(exec_id)
        if row[0] != epoch:
            raise KitaruFencedError(exec_id, epoch, int(row[0]), store=self._name)

    def _fence_call(self, cursor: Any, call_id: str, epoch: int | None) -> None:
        """:meth:`_fence` for a write to the call ``call_id`` of the runner's execution (a
        missing call is left to the write itself to report)."""
        if epoch is None:
            return
        row = self._s.share_call_epoch.one(cursor, {"b_call_id": call_id})
        if row is not None and row[1] != epoch:
            raise KitaruFencedError(str(row[0]), epoch, int(row[1]), store=self._name)

    # -- errors -------------------------------------------------------------
    def _raise_for_execution(self, exec_id: str, what: str, exc: BaseException) -> NoReturn:
        """Raise for a failed write that needs ``exec_id``: missing, or a backend error."""
        if isinstance(exc, self._integrity_errors):
            self._require_execution(exec_id)
        self._raise(what, exc)

    def _raise(self, what: str, exc: BaseException) -> NoReturn:
        if _read_only(exc):
            sqlite = is_read_only_error(_driver_error(exc))
            fix = (
                "make the file and its directory writable for this user"
                if sqlite
                else "connect to a primary server with a role whose transactions may write"
            )
            raise KitaruBackendError(
                f"Could not {what}: the store '{self._name}' is read-only"
                f"{' for this user' if sqlite else ''} ({self._detail(exc)}). It can still be listed "
                f"and read. To change it, {fix}, or use a store you may write (KITARU_HOME, "
                "KITARU_STORE_URL)."
            ) from exc
        transient = isinstance(exc, self._transient_errors) or bool(
            getattr(exc, "connection_invalidated", False)
        )
        raise KitaruBackendError(
            f"Could not {what} in store '{self._name}': {self._detail(exc)}", transient=transient
        ) from exc


class _ClosedEngine:
    """Stands in for the engine of a closed store: any use raises."""

    def __init__(self, name: str) -> None:
        self._name = name

    def raw_connection(self) -> NoReturn:
        raise KitaruStateError(f"The store '{self._name}' is closed. Open a new store to use it again.")


def _driver_error(exc: BaseException) -> BaseException:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's exception
    return orig if isinstance(orig, BaseException) else exc


def _detail(exc: BaseException) -> str:
    return str(_driver_error(exc)).strip()


def _read_only(exc: BaseException) -> bool:
    """Whether the database refused a write because it is read-only (SQLite file, or a
    PostgreSQL read-only transaction or standby: SQLSTATE 25006)."""
    error = _driver_error(exc)
    return is_read_only_error(error) or getattr(error, "sqlstate", None) == "25006"


def status_value(status: ExecutionStatus | str | None) -> str | None:
    """Return the stored value of ``status`` (``None`` stays ``None``)."""
    return None if status is None else status_of(status).value
