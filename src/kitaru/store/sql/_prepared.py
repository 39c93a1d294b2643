"""Run prebuilt Core statements straight on pooled driver connections.

A checkpoint costs a few statements, and SQLAlchemy's per-execution
machinery (events, parameter construction, result objects) costs several
times more than SQLite itself does. So each statement is compiled once for
the store's dialect, with SQLAlchemy's own type processors taken from the
compiled form; running it is then one driver call plus those processors.
The SQL text still comes from the one Core statement shared by both
databases. On SQLite the compiled form is also generated ahead of time
(:mod:`kitaru.store.sql._sqlite_plans`), so a store at the current schema runs
without importing SQLAlchemy at all (:meth:`Prepared.from_plan`).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from kitaru.errors import KitaruUsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.sql import ClauseElement
    from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Prepared", "Savepoint", "Transaction"]


class Prepared:
    """A Core statement compiled once for one dialect, run on a driver cursor.

    Args:
        stmt: The statement; its binds are named after columns or ``b_*``.
        dialect: The dialect of the store's engine (initialized by a first connect).
        column_keys: For inserts, the columns that get a value.
        many: Compile for :meth:`execute_many` (an insert then returns no
            generated keys).

    Example:
        >>> # Prepared(select(t).where(t.c.id == bindparam("b_id")), engine.dialect)
    """

    __slots__ = (
        "_defaults",
        "_getter",
        "_named",
        "_names",
        "_processors",
        "_results",
        "_single",
        "_source",
        "sql",
    )

    def __init__(
        self,
        stmt: ClauseElement,
        dialect: Dialect,
        *,
        column_keys: Sequence[str] | None = None,
        many: bool = False,
    ) -> None:
        # Compiled on first use: a short-lived process (a CLI command) compiles only what it runs.
        self._source = (stmt, dialect, column_keys, many)

    def __getattr__(self, name: str) -> Any:
        # Only reached while the compiled slots are still unset.
        if name == "_source":
            raise AttributeError(name)
        self._compile(*self._source)
        return object.__getattribute__(self, name)

    @classmethod
    def from_plan(
        cls,
        sql: str,
        names: tuple[str, ...],
        defaults: Mapping[str, Any],
        processors: Sequence[tuple[int, Any]],
        results: Sequence[tuple[int, Any]],
    ) -> Prepared:
        """Return a statement compiled ahead of time for a positional driver (SQLite).

        Args:
            sql: The statement's SQL text.
            names: The bind names in parameter order.
            defaults: Values of the binds that need none from the caller.
            processors: ``(index, function)`` conversions of bound values.
            results: ``(index, function)`` conversions of result columns.
        """
        self = cls.__new__(cls)
        self.sql = sql
        self._named = False
        self._names = names
        self._getter = operator.itemgetter(*names) if names else None
        self._single = len(names) == 1
        self._defaults = dict(defaults)
        self._processors = tuple(processors)
        self._results = tuple(results)
        return self

    def _compile(
        self, stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None, many: bool
    ) -> None:
        keys = list(column_keys) if column_keys else None
        compiled = cast("SQLCompiler", stmt.compile(dialect=dialect, column_keys=keys, for_executemany=many))
        sql = compiled.string
        if "POSTCOMPILE" in sql:
            raise ValueError(f"statement needs per-execution rendering: {sql}")
        self.sql = sql
        binds = compiled.binds
        self._named = not compiled.positional
        names = tuple(binds) if self._named else tuple(compiled.positiontup or ())
        self._names = names
        self._getter = operator.itemgetter(*names) if names else None
        self._single = len(names) == 1
        defaults: dict[str, Any] = {}
        processors: list[tuple[int, Any]] = []
        for index, name in enumerate(names):
            bind = binds[name]
            if not bind.required:
                defaults[name] = bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((index, processor))
        self._defaults = defaults
        self._processors = tuple(processors)
        results: list[tuple[int, Any]] = []
        for index, column in enumerate(getattr(stmt, "exported_columns", ())):
            processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if processor is not None:
                results.append((index, processor))
        self._results = tuple(results)

    def args(self, values: Mapping[str, Any]) -> Any:
        """Return the driver parameters for ``values`` (keyed by bind name)."""
        if self._getter is None:
            return {} if self._named else ()
        if self._defaults:
            values = {**self._defaults, **values}
        try:
            picked = self._getter(values)
        except KeyError as exc:
            raise KitaruUsageError(f"Missing value for {exc} in a store statement.") from exc
        out = [picked] if self._single else list(picked)
        index = 0
        try:
            for index, processor in self._processors:
                out[index] = processor(out[index])
        except (TypeError, ValueError) as exc:
            raise KitaruUsageError(
                f"The value of {self._names[index]!r} cannot be stored: {exc}. "
                "Metadata and failures must be JSON-serializable."
            ) from exc
        return dict(zip(self._names, out, strict=True)) if self._named else out

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> int:
        """Run the statement; return the number of rows it changed."""
        cursor.execute(self.sql, self.args(values))
        return int(cursor.rowcount)

    def execute_many(self, cursor: Any, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run the statement once per row of values, as one batch of the driver."""
        cursor.executemany(self.sql, self.args_many(rows))

    def args_many(self, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        """Return the driver parameters of many rows, converting column by column."""
        getter = self._getter
        if getter is None or self._single or self._defaults:
            return [self.args(values) for values in rows]
        try:
            out = [list(getter(values)) for values in rows]
        except KeyError as exc:
            raise KitaruUsageError(f"Missing value for {exc} in a store statement.") from exc
        index = 0
        try:
            for index, processor in self._processors:
                for values in out:
                    values[index] = processor(values[index])
        except (TypeError, ValueError) as exc:
            raise KitaruUsageError(
                f"The value of {self._names[index]!r} cannot be stored: {exc}. "
                "Metadata and failures must be JSON-serializable."
            ) from exc
        if self._named:
            names = self._names
            return [dict(zip(names, values, strict=True)) for values in out]
        return out

    def one(self, cursor: Any, values: Mapping[str, Any]) -> Sequence[Any] | None:
        """Run the statement; return its first row (types converted) or ``None``."""
        cursor.execute(self.sql, self.args(values))
        row = cursor.fetchone()
        return None if row is None else self.convert(row)

    def all(self, cursor: Any, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Run the statement; return all its rows (types converted)."""
        cursor.execute(self.sql, self.args(values))
        rows = cursor.fetchall()
        if not self._results:
            return list(rows)
        return [self.convert(row) for row in rows]

    def stream(self, cursor: Any, values: Mapping[str, Any], size: int = 1000) -> Iterator[Sequence[Any]]:
        """Run the statement; yield its rows (types converted), fetched ``size`` at a time,
        so a long result never exists whole as driver rows."""
        cursor.execute(self.sql, self.args(values))
        while rows := cursor.fetchmany(size):
            for row in rows:
                yield self.convert(row)

    def convert(self, row: Sequence[Any]) -> Sequence[Any]:
        """Apply the result processors of the statement's columns to ``row``."""
        if not self._results:
            return row
        values = list(row)
        for index, processor in self._results:
            values[index] = processor(values[index])
        return values


class Transaction:
    """One short transaction on a pooled connection; yields a driver cursor.

    Commits when the block ends normally (``commit=True``), rolls back
    otherwise, and always returns the connection to the pool.

    Args:
        engine: The engine (or :class:`kitaru.store.sql._sqlite.SqlitePool`) whose pool
            lends the connection.
        begin: The statement that starts the transaction, or ``None`` to let
            the driver start it (PostgreSQL) or to run in autocommit (SQLite reads).
        commit: Whether to commit a block that ends normally.
        lock: Held for the whole transaction (SQLite writes: the threads of one
            process queue on it instead of in SQLite's sleeping busy handler).
    """

    __slots__ = ("_begin", "_commit", "_connection", "_engine", "_lock")

    def __init__(self, engine: Any, begin: str | None, commit: bool, lock: Any = None) -> None:
        self._engine = engine
        self._begin = begin
        self._commit = commit
        self._lock = lock

    def __enter__(self) -> Any:
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            connection = self._connection = self._engine.raw_connection()
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        try:
            cursor = connection.cursor()
            if self._begin is not None:
                cursor.execute(self._begin)
        except BaseException:
            _rollback(connection)  # a connection that cannot even begin is dropped, not pooled again
            connection.close()
            if lock is not None:
                lock.release()
            raise
        return cursor

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        connection = self._connection
        try:
            if exc_type is None and self._commit:
                try:
                    connection.commit()
                except BaseException:
                    _rollback(connection)
                    raise
            else:
                _rollback(connection)
        finally:
            connection.close()
            if self._lock is not None:
                self._lock.release()


class Savepoint:
    """A transaction inside one that is already open on ``connection``: a savepoint, released
    when the block ends normally (``keep``) and rolled back to otherwise; yields a new driver
    cursor.

    Args:
        connection: The driver connection of the open transaction.
        keep: Whether a block that ends normally keeps its writes (``False``: a dry run).
    """

    __slots__ = ("_connection", "_cursor", "_keep")

    def __init__(self, connection: Any, *, keep: bool = True) -> None:
        self._connection = connection
        self._keep = keep

    def __enter__(self) -> Any:
        cursor = self._cursor = self._connection.cursor()
        cursor.execute("SAVEPOINT kitaru_joined")
        return cursor

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None and self._keep:
            self._cursor.execute("RELEASE SAVEPOINT kitaru_joined")
            return
        try:
            self._cursor.execute("ROLLBACK TO SAVEPOINT kitaru_joined")
            self._cursor.execute("RELEASE SAVEPOINT kitaru_joined")
        except Exception:
            pass  # the enclosing transaction fails too, and rolls back; the first error stands


def _rollback(connection: Any) -> None:
    try:
        connection.rollback()
    except Exception:
        # A connection that cannot roll back is broken; the pool drops it and the first error stands.
        connection.invalidate()
