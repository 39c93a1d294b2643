"""The statements that read a page of an execution's calls, written once for both databases.

Binds: ``b_exec_id``; ``b_limit`` when the page is bounded, ``b_offset`` when
it starts later. The page is ordered by ``seq``, then ``call_id``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kitaru.store.schema import artifacts, attempts, calls

__all__ = ["call_page_artifacts_statement", "list_calls_statement"]

C, A, R = calls, attempts, artifacts


def _page(what: Any, *, limit: bool, offset: bool) -> Any:
    stmt = sa.select(what).where(C.c.exec_id == sa.bindparam("b_exec_id", type_=sa.String()))
    stmt = stmt.order_by(C.c.seq, C.c.call_id)
    if limit:
        stmt = stmt.limit(sa.bindparam("b_limit", type_=sa.Integer()))
    if offset:
        stmt = stmt.offset(sa.bindparam("b_offset", type_=sa.Integer()))
    return stmt


def list_calls_statement(*, limit: bool, offset: bool) -> Any:
    """The calls of a page, one row per attempt.

    Each row is the call's columns, then an attempt's (``NULL`` when it has
    none), then its output artifact's without data
    (:data:`~kitaru.store.sql._rows.ARTIFACT_WIDTH` columns) when another execution
    holds it (a cached or replayed call; ``NULL`` otherwise: the execution's own
    artifacts are listed on their own).
    """
    page = _page(C, limit=limit, offset=offset).subquery("page")
    output = R.alias("output")
    output_columns = [sa.null().label("output_data") if c.name == "data" else c for c in output.c]
    held_elsewhere = sa.and_(
        output.c.artifact_id == page.c.output_artifact_id, output.c.exec_id != page.c.exec_id
    )
    return (
        sa.select(page, A, *output_columns)
        .select_from(page.outerjoin(A, A.c.call_id == page.c.call_id).outerjoin(output, held_elsewhere))
        .order_by(page.c.seq, page.c.call_id, A.c.number, A.c.attempt_id)
    )


def call_page_artifacts_statement(artifact_rows: Any, *, limit: bool, offset: bool) -> Any:
    """The artifacts that the calls of a page produced, in creation order.

    ``artifact_rows`` selects the artifact columns (the data left out).
    """
    ids = _page(C.c.call_id, limit=limit, offset=offset).scalar_subquery()
    return artifact_rows.where(
        R.c.exec_id == sa.bindparam("b_exec_id", type_=sa.String()), R.c.call_id.in_(ids)
    ).order_by(R.c.created_at, R.c.artifact_id)
