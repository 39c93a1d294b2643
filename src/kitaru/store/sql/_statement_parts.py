"""Building blocks of the SQL store's statements: column lists, bind helpers, JSON objects
and subqueries that :mod:`kitaru.store.sql._statements` composes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from kitaru.store.schema import PENDING_WAIT, UtcDateTime, artifacts, calls, executions, llm_usage, logs

__all__ = [
    "JsonObject",
    "LOG_KEYS",
    "LOG_RECORD",
    "START_VALUES",
    "UPSERT_COLUMNS",
    "execution_counts",
    "expected_statuses",
    "matching_ids",
    "bind",
    "sql_text",
    "usage_totals",
]

E, C, R, L, U = executions, calls, artifacts, logs, llm_usage

# The columns of a new log row (``seq`` comes from the database) and of a log record, in field order.
LOG_KEYS = (
    "exec_id",
    "call_id",
    "invocation_id",
    "ts",
    "level",
    "source",
    "message",
    "module",
    "filename",
    "lineno",
)
LOG_RECORD = (
    L.c.exec_id,
    L.c.ts,
    L.c.message,
    L.c.level,
    L.c.source,
    L.c.call_id,
    L.c.invocation_id,
    L.c.seq,
    L.c.module,
    L.c.filename,
    L.c.lineno,
)

# Columns an upsert of a call replaces; call_id, metadata and the attempts stay.
UPSERT_COLUMNS = (
    "seq",
    "name",
    "kind",
    "status",
    "started_at",
    "type",
    "ended_at",
    "cache_key",
    "input_fingerprint",
    "output_artifact_id",
    "after",
    "parent_call_id",
    "failure",
)


class JsonObject(sa.sql.functions.GenericFunction[str]):
    """``json_object(key, value, ...)``: SQLite's function (JSON text), PostgreSQL's
    ``json_build_object`` (cast the outermost one to text). The database escapes the values."""

    type = sa.String()
    name = "json_object"
    inherit_cache = True


@compiles(JsonObject, "postgresql")
def _json_object_postgresql(element: JsonObject, compiler: Any, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


def sql_text(value: str) -> Any:
    """A string constant written into the SQL text (no bind): for plans compiled ahead of time."""
    return sa.literal_column("'" + value.replace("'", "''") + "'", sa.String())


def bind(name: str, type_: Any = None) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=type_)


def matching_ids(column: Any) -> Any:
    """The ids (at most 21, sorted) that start with ``b_token`` or end with it (``b_suffix``).

    Binds: ``b_starts``/``b_ends`` (the LIKE patterns), ``b_prefix``/``b_suffix`` (the token,
    compared exactly) and ``b_length``/``b_length_end`` (its length).
    """
    length = bind("b_length", sa.Integer())
    starts = sa.and_(
        column.like(bind("b_starts", sa.String()), escape="!"),
        sa.func.substr(column, 1, length) == bind("b_prefix", sa.String()),
    )
    ends = sa.and_(
        column.like(bind("b_ends", sa.String()), escape="!"),
        sa.func.substr(column, sa.func.length(column) - bind("b_length_end", sa.Integer()) + 1)
        == bind("b_suffix", sa.String()),
    )
    return sa.select(column).where(sa.or_(starts, ends)).order_by(column).limit(21)


def expected_statuses(count: int) -> list[sa.BindParameter[Any]]:
    """The binds ``b_expected_0`` ... of a status list, as a plain ``IN (...)`` (no expansion)."""
    return [bind(f"b_expected_{index}", sa.String()) for index in range(count)]


# What (re-)starting a run of the body sets; binds ``b_now`` and ``b_runner_id``. Every start
# raises the fencing token.
START_VALUES: dict[str, Any] = {
    "epoch": E.c.epoch + 1,
    "status": "running",
    "started_at": sa.func.coalesce(E.c.started_at, bind("b_now", UtcDateTime())),
    "ended_at": None,
    "failure": None,
    "run_count": E.c.run_count + 1,
    "runner_id": bind("b_runner_id", sa.String()),
    "heartbeat_at": bind("b_now", UtcDateTime()),
    "updated_at": bind("b_now", UtcDateTime()),
    "queued_at": None,
}


def execution_counts() -> tuple[Any, ...]:
    """The numbers of calls, artifacts and pending waits of each listed execution."""
    calls = sa.select(sa.func.count()).select_from(C).where(C.c.exec_id == E.c.exec_id)
    artifacts = sa.select(sa.func.count()).select_from(R).where(R.c.exec_id == E.c.exec_id)
    waits = calls.where(sa.text(PENDING_WAIT))
    return (
        calls.scalar_subquery().label("checkpoint_count"),
        artifacts.scalar_subquery().label("artifact_count"),
        waits.scalar_subquery().label("pending_wait_count"),
        usage_totals(U.c.exec_id == E.c.exec_id).scalar_subquery().label("llm_usage"),
    )


def usage_totals(where: Any) -> Any:
    """The model usage of the rows ``where`` selects, as one JSON text: calls, input and output
    tokens, the summed cost of the priced calls (``null`` when none was) and the unpriced calls."""
    unpriced = sa.func.coalesce(sa.func.sum(sa.case((U.c.cost_usd.is_(None), 1), else_=0)), 0)
    return sa.select(
        sa.cast(
            JsonObject(
                sql_text("calls"),
                sa.func.count(),
                sql_text("input_tokens"),
                sa.func.coalesce(sa.func.sum(U.c.input_tokens), 0),
                sql_text("output_tokens"),
                sa.func.coalesce(sa.func.sum(U.c.output_tokens), 0),
                sql_text("cost_usd"),
                sa.func.sum(U.c.cost_usd),
                sql_text("unpriced_calls"),
                unpriced,
            ),
            sa.Text(),
        )
    ).where(where)
