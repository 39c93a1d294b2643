"""The statements that list and count executions, written once for both databases.

Executions are listed newest first: by ``created_at``, then ``exec_id``, the
order of the indexes on ``(created_at, exec_id)``, ``(flow_name, created_at,
exec_id)`` and ``(status, created_at, exec_id)``. A page starts after a cursor
(the ``created_at`` and ``exec_id`` of the last execution of the page before it),
compared as a row value, so a page is read from the index however deep it lies.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from kitaru.store.schema import UtcDateTime, executions
from kitaru.store.sql._statement_parts import bind, execution_counts

__all__ = ["PAGE_DIRECTIONS", "count_executions_statement", "list_executions_statement"]

E = executions

#: How a page of executions is bounded: ``None`` (the newest), ``"before"`` (older than the
#: cursor, newest first) or ``"after"`` (newer than the cursor, oldest first: the caller
#: reverses the rows).
PAGE_DIRECTIONS: tuple[Literal["before", "after"] | None, ...] = (None, "before", "after")


def list_executions_statement(
    *,
    flow: bool,
    status: bool,
    since: bool,
    limit: bool,
    counts: bool,
    page: Literal["before", "after"] | None = None,
) -> Any:
    """Executions with the given filters (``b_flow``, ``b_status``, ``b_since``, ``b_limit``).

    ``counts`` adds the four columns of :func:`execution_counts`. ``page`` bounds the
    rows by the cursor ``b_cursor_at``, ``b_cursor_id``: ``"before"`` keeps the older
    ones, newest first; ``"after"`` the newer ones, oldest first (so that ``b_limit``
    keeps those nearest the cursor).
    """
    stmt = sa.select(E, *execution_counts()) if counts else sa.select(E)
    if flow:
        stmt = stmt.where(E.c.flow_name == bind("b_flow", sa.String()))
    if status:
        stmt = stmt.where(E.c.status == bind("b_status", sa.String()))
    if since:
        stmt = stmt.where(E.c.created_at >= bind("b_since", UtcDateTime()))
    key = sa.tuple_(E.c.created_at, E.c.exec_id)
    cursor = sa.tuple_(bind("b_cursor_at", UtcDateTime()), bind("b_cursor_id", sa.String()))
    if page == "after":
        stmt = stmt.where(key > cursor).order_by(E.c.created_at, E.c.exec_id)
    else:
        if page == "before":
            stmt = stmt.where(key < cursor)
        stmt = stmt.order_by(E.c.created_at.desc(), E.c.exec_id.desc())
    if limit:
        stmt = stmt.limit(bind("b_limit", sa.Integer()))
    return stmt


def count_executions_statement(*, since: bool) -> Any:
    """The number of executions of each flow in each status (``b_since``: created since)."""
    stmt = sa.select(E.c.flow_name, E.c.status, sa.func.count())
    if since:
        stmt = stmt.where(E.c.created_at >= bind("b_since", UtcDateTime()))
    return stmt.group_by(E.c.flow_name, E.c.status).order_by(E.c.flow_name, E.c.status)
