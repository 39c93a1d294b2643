"""The SQLite store's hot path: the ``sqlite3`` driver and statements compiled ahead of time.

A SQLite store whose schema is at the current revision runs without
SQLAlchemy or Alembic: its connections come from :class:`SqlitePool` (the
same settings as the SQLAlchemy engine of :mod:`kitaru.store.sql._engines`), its
statements from :mod:`kitaru.store.sql._sqlite_plans`, which is generated from
the one Core definition of each statement (:mod:`kitaru.store.sql._statements`).
Creating or migrating a store still goes through SQLAlchemy and Alembic.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Literal

from kitaru._files import create_private_file, make_private_dirs
from kitaru.store._codecs import BIND, RESULT
from kitaru.store.sql._prepared import Prepared

__all__ = [
    "SQLITE_BUSY_TIMEOUT_S",
    "SqlitePool",
    "SqliteStatements",
    "configure_connection",
    "is_read_only_error",
    "prepare_database_file",
    "sqlite_database",
    "sqlite_url",
]

#: Seconds a SQLite connection waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 60
#: Idle connections kept open for reuse; more are opened when many threads write at once.
_IDLE = 8
# Characters a SQLAlchemy URL escapes in a database path: such paths take the SQLAlchemy route.
_ESCAPED = frozenset("%?#")
# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_READONLY = 8
_SQLITE_CANTOPEN = 14


def configure_connection(cursor: Any) -> None:
    """Set up a new SQLite connection as every Kitaru connection is: busy timeout, WAL,
    ``synchronous=NORMAL``, foreign keys (``cursor`` of the sqlite3 driver, or SQLAlchemy's
    wrapper of it)."""
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
    # Switching a fresh file to WAL needs its exclusive lock, and SQLite answers "database is
    # locked" at once, without the busy wait, while another connection (another thread or
    # process creating the same store) holds a lock on it: so this waits here, within the same
    # busy timeout.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    delay = 0.002
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")


def prepare_database_file(database: str) -> None:
    """Create the SQLite file ``database`` (and its directory) when missing, private to the user.

    SQLite itself would create it with mode 0644; its ``-wal`` and ``-shm`` files take the
    mode of the database, so they are private too. An existing file keeps its mode.

    Raises:
        OSError: The directory or the file could not be created.
    """
    path = Path(database).expanduser()
    make_private_dirs(path.parent)
    create_private_file(path)


def is_read_only_error(exc: BaseException) -> bool:
    """Whether ``exc`` (a ``sqlite3`` error) says the database file cannot be written."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF == _SQLITE_READONLY


def _cannot_write(exc: sqlite3.Error) -> bool:
    """An error opening a connection that a read-only connection may avoid."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_READONLY, _SQLITE_CANTOPEN)


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """Return the URL of a SQLite file (as SQLAlchemy renders it).

    Example:
        >>> sqlite_url("/tmp/kitaru.db")
        'sqlite:////tmp/kitaru.db'
    """
    database = str(Path(path).expanduser().absolute())
    if _ESCAPED.isdisjoint(database):
        return "sqlite:///" + database
    from kitaru.store.sql._engines import sqlite_url as escaped_url

    return escaped_url(database)


def sqlite_database(url: str) -> str | None:
    """Return the file of a plain SQLite file URL, ``None`` for any other URL.

    Example:
        >>> sqlite_database("sqlite:////tmp/kitaru.db")
        '/tmp/kitaru.db'
        >>> sqlite_database("postgresql+psycopg://localhost/kitaru") is None
        True
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix) :]
    if (
        not database
        or database == ":memory:"
        or database.startswith("file:")
        or not _ESCAPED.isdisjoint(database)
    ):
        return None
    return database


class SqlitePool:
    """A thread-safe pool of ``sqlite3`` connections to one file, in driver autocommit mode.

    Connections are configured as the SQLAlchemy engine configures them (busy
    timeout, WAL, ``synchronous=NORMAL``, foreign keys); transactions are
    begun explicitly by :class:`kitaru.store.sql._prepared.Transaction`.

    A file this user may read but not write (or in a directory it may not
    write, where SQLite cannot create its ``-shm`` file) is opened read-only:
    reads work, and a write fails with SQLite's "readonly database" error,
    which the store turns into a message saying so. When SQLite cannot open
    it read-only either (no ``-shm`` file, none may be created) and no
    write-ahead log lies beside it, the file is read as it is (SQLite's
    ``immutable``): right for a store nobody writes, while writes that another
    user makes meanwhile may go unseen.

    Args:
        database: The SQLite file (created, with its directory, when missing).

    Attributes:
        read_only: Whether the pool fell back to read-only connections.
    """

    def __init__(self, database: str) -> None:
        prepare_database_file(database)
        self._database = database
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        self._lock = threading.Lock()
        self.read_only = False
        #: Held by write transactions: this process's writers queue here, in order, instead of
        #: polling for SQLite's write lock (its busy handler sleeps up to 100 ms between tries).
        #: Reentrant, so a write inside a write waits in SQLite as before rather than here.
        self.write_lock = threading.RLock()

    @property
    def url(self) -> str:
        """The pool's file as a SQLite URL."""
        return "sqlite:///" + self._database

    def _open(self, target: str, *, uri: bool = False) -> sqlite3.Connection:
        return sqlite3.connect(
            target,
            timeout=SQLITE_BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=256,
            uri=uri,
        )

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return self._connect_read_only()
        connection = self._open(self._database)
        try:
            configure_connection(connection.cursor())
        except sqlite3.Error as exc:
            connection.close()
            if not _cannot_write(exc) or not os.path.isfile(self._database):
                raise
            read_only = self._connect_read_only()
            self.read_only = True
            return read_only
        except BaseException:
            connection.close()
            raise
        return connection

    def _connect_read_only(self) -> sqlite3.Connection:
        from urllib.parse import quote

        uri = "file:" + quote(str(Path(self._database).expanduser().absolute())) + "?mode=ro"
        try:
            return self._configured_read_only(uri)
        except sqlite3.Error as exc:
            if not _cannot_write(exc) or os.path.exists(self._database + "-wal"):
                raise
        # SQLite cannot create the -shm file here. With no write-ahead log, the file itself holds
        # every committed write: read it as it is.
        return self._configured_read_only(uri + "&immutable=1")

    def _configured_read_only(self, uri: str) -> sqlite3.Connection:
        connection = self._open(uri, uri=True)
        try:
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA query_only = ON")
            cursor.execute("SELECT count(*) FROM sqlite_master").fetchall()  # opens the file now
        except BaseException:
            connection.close()
            raise
        return connection

    def raw_connection(self) -> _Lease:
        """Lend a connection; closing the lease returns it to the pool."""
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = self._connect()
        return _Lease(self, connection)

    def _give_back(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < _IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def revision(self) -> str | None:
        """Return the schema revision recorded in the file, ``None`` when it has none or is no database."""
        try:
            lease = self.raw_connection()
        except sqlite3.Error:
            return None  # not a database (yet): the SQLAlchemy route creates it or says what is wrong
        try:
            rows = lease.cursor().execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.Error:
            lease.invalidate()
            return None
        finally:
            lease.close()
        return str(rows[0][0]) if len(rows) == 1 else None

    def dispose(self) -> None:
        """Close the idle connections; connections still lent are closed when returned."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class _Lease:
    """A connection lent by a :class:`SqlitePool` (the interface :class:`Transaction` uses)."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: SqlitePool, connection: sqlite3.Connection) -> None:
        self._pool = pool
        self._connection: sqlite3.Connection | None = connection

    def cursor(self) -> sqlite3.Cursor:
        assert self._connection is not None
        return self._connection.cursor()

    def commit(self) -> None:
        assert self._connection is not None
        self._connection.commit()

    def rollback(self) -> None:
        assert self._connection is not None
        self._connection.rollback()

    def invalidate(self) -> None:
        """Close the connection instead of returning it: it is broken."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool._give_back(connection)


def _prepared(plan: Any) -> Prepared:
    sql, names, defaults, binds, results = plan
    return Prepared.from_plan(
        sql,
        names,
        defaults,
        [(index, BIND[name]) for index, name in binds],
        [(index, RESULT[name]) for index, name in results],
    )


def _compile_now(key: tuple[Any, ...]) -> Prepared:
    # A variant outside the generated set (more statuses than there are): compiled with SQLAlchemy.
    import sqlalchemy as sa

    from kitaru.store.sql._sqlite_compile import VARIANT_ARGUMENTS
    from kitaru.store.sql._statements import Statements

    engine = sa.create_engine("sqlite://")
    with engine.connect():
        pass
    method, *args = key
    function = getattr(Statements(engine.dialect), method)
    names = VARIANT_ARGUMENTS[method]
    prepared: Prepared = function(*args) if names is None else function(**dict(zip(names, args, strict=True)))
    _ = prepared.sql  # compile while the engine exists
    engine.dispose()
    return prepared


class SqliteStatements:
    """The store's statements for SQLite, from the plans compiled ahead of time.

    Has the attributes and variant methods of
    :class:`kitaru.store.sql._statements.Statements`, built without SQLAlchemy.
    """

    def __init__(self) -> None:
        from kitaru.store.sql._sqlite_plans import PLANS, VARIANTS

        for name, plan in PLANS.items():
            setattr(self, name, _prepared(plan))
        self._plans = VARIANTS
        self._variants: dict[tuple[Any, ...], Prepared] = {}

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"No SQLite statement {name!r} compiled ahead of time; regenerate "
            "kitaru/store/sql/_sqlite_plans.py with `python -m kitaru.store.sql._sqlite_compile`."
        )

    def _variant(self, *key: Any) -> Prepared:
        prepared = self._variants.get(key)
        if prepared is None:
            plan = self._plans.get(key)
            prepared = _compile_now(key) if plan is None else _prepared(plan)
            self._variants[key] = prepared
        return prepared

    def list_executions(
        self,
        *,
        flow: bool,
        status: bool,
        since: bool,
        limit: bool,
        counts: bool = False,
        page: Literal["before", "after"] | None = None,
    ) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.list_executions`."""
        return self._variant("list_executions", flow, status, since, limit, counts, page)

    def list_artifacts(
        self, *, name: bool, kind: bool, call_id: bool, producing_call: bool = False
    ) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.list_artifacts`."""
        return self._variant("list_artifacts", name, kind, call_id, producing_call)

    def claim_execution(self, expected: int) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.claim_execution`."""
        return self._variant("claim_execution", expected)

    def enqueue_execution(self, expected: int) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.enqueue_execution`."""
        return self._variant("enqueue_execution", expected)

    def claim_queued(self, *, orphans: bool, flows: bool, queue: bool) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.claim_queued`."""
        return self._variant("claim_queued", orphans, flows, queue)

    def set_execution_status(self, *, expected: int | None, runner: bool, release: bool) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.set_execution_status`."""
        return self._variant("set_execution_status", expected, runner, release)

    def list_logs(self, *, call_id: bool, after_seq: bool, limit: bool) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.list_logs`."""
        return self._variant("list_logs", call_id, after_seq, limit)

    def list_calls(self, *, limit: bool, offset: bool) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.list_calls`."""
        return self._variant("list_calls", limit, offset)

    def call_page_artifacts(self, *, limit: bool, offset: bool) -> Prepared:
        """See :meth:`kitaru.store.sql._statements.Statements.call_page_artifacts`."""
        return self._variant("call_page_artifacts", limit, offset)
