"""The statement that sums model usage over a time range, per flow, model, execution and bucket.

Built here, prepared by :class:`kitaru.store.sql._statements.Statements`: one
``UNION ALL`` of grouped selects, so a summary is one round trip. Its rows are the
ones :func:`kitaru.store._usage_summary.summary_of` reads.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from kitaru.store.schema import UtcDateTime, executions, llm_usage
from kitaru.store.sql._statement_parts import bind, sql_text

__all__ = ["UsageBucket", "usage_summary"]

E, U = executions, llm_usage


class UsageBucket(sa.sql.expression.ColumnElement[int]):
    """The start (Unix seconds) of the bucket of ``width`` seconds a timestamp falls in."""

    type = sa.BigInteger()
    inherit_cache = True

    def __init__(self, column: Any, width: Any) -> None:
        self.column = column
        self.width = width


@compiles(UsageBucket, "sqlite")
def _bucket_sqlite(element: UsageBucket, compiler: Any, **kw: Any) -> str:
    # Timestamps are UTC text (``YYYY-MM-DD HH:MM:SS.ffffff``), which strftime reads.
    seconds = f"CAST(strftime('%s', {compiler.process(element.column, **kw)}) AS INTEGER)"
    width = compiler.process(element.width, **kw)
    return f"(({seconds} / {width}) * {compiler.process(element.width, **kw)})"


@compiles(UsageBucket, "postgresql")
def _bucket_postgresql(element: UsageBucket, compiler: Any, **kw: Any) -> str:
    seconds = f"CAST(floor(extract(epoch FROM {compiler.process(element.column, **kw)})) AS BIGINT)"
    width = compiler.process(element.width, **kw)
    return f"(({seconds} / {width}) * {compiler.process(element.width, **kw)})"


def _sums(tokens_in: Any, tokens_out: Any, cost: Any) -> tuple[Any, ...]:
    unpriced = sa.func.coalesce(sa.func.sum(sa.case((cost.is_(None), 1), else_=0)), 0)
    return (
        sa.func.count().label("calls"),
        sa.func.coalesce(sa.func.sum(tokens_in), 0).label("input_tokens"),
        sa.func.coalesce(sa.func.sum(tokens_out), 0).label("output_tokens"),
        sa.func.sum(cost).label("cost_usd"),
        unpriced.label("unpriced_calls"),
    )


def usage_summary() -> Any:
    """The rows of a usage summary: one per group (total, flow, model, time, execution).

    Binds ``b_since`` (included) and ``b_until`` (excluded), ``b_bucket`` (the bucket's
    width in seconds) and ``b_limit`` (the most executions, costliest first).
    """
    in_range = sa.and_(
        U.c.created_at >= bind("b_since", UtcDateTime()), U.c.created_at < bind("b_until", UtcDateTime())
    )
    none = sa.cast(sa.null(), sa.String())
    sums = _sums(U.c.input_tokens, U.c.output_tokens, U.c.cost_usd)
    joined = U.join(E, E.c.exec_id == U.c.exec_id)
    labels = (sql_text("total").label("grp"), sql_text("").label("grp_key"))
    total = sa.select(*labels, none, *sums).where(in_range)
    flows = (
        sa.select(sql_text("flow"), E.c.flow_name, none, *sums)
        .select_from(joined)
        .where(in_range)
        .group_by(E.c.flow_name)
    )
    models = sa.select(sql_text("model"), U.c.model, none, *sums).where(in_range).group_by(U.c.model)
    stamped = sa.select(
        UsageBucket(U.c.created_at, bind("b_bucket", sa.Integer())).label("bucket"),
        U.c.input_tokens,
        U.c.output_tokens,
        U.c.cost_usd,
    ).where(in_range)
    stamped_rows = stamped.subquery("stamped")
    times = sa.select(
        sql_text("time"),
        sa.cast(stamped_rows.c.bucket, sa.String()),
        none,
        *_sums(stamped_rows.c.input_tokens, stamped_rows.c.output_tokens, stamped_rows.c.cost_usd),
    ).group_by(stamped_rows.c.bucket)
    cost = sa.func.coalesce(sa.func.sum(U.c.cost_usd), 0)
    tokens_in = sa.func.coalesce(sa.func.sum(U.c.input_tokens), 0)
    tokens = tokens_in + sa.func.coalesce(sa.func.sum(U.c.output_tokens), 0)
    costliest = (
        sa.select(sql_text("execution").label("grp"), U.c.exec_id.label("grp_key"), E.c.flow_name, *sums)
        .select_from(joined)
        .where(in_range)
        .group_by(U.c.exec_id, E.c.flow_name)
        .order_by(cost.desc(), tokens.desc(), U.c.exec_id)
        .limit(bind("b_limit", sa.Integer()))
        .subquery("costliest")
    )
    return sa.union_all(total, flows, models, times, sa.select(*costliest.c))
