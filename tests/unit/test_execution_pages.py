"""Pages of the execution list are read from an index, however deep they lie and whatever the filters."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from kitaru.errors import KitaruUsageError
from kitaru.store._common import cursor_text, parse_cursor
from kitaru.store.conformance.records import at
from kitaru.store.sql import SqlStore


@pytest.mark.parametrize("page", ["before", "after"])
def test_every_page_of_summaries_is_a_search_of_an_index_in_list_order(tmp_path: Path, page: str) -> None:
    path = tmp_path / "kitaru.db"
    store = SqlStore.open_sqlite(path)
    try:
        statements = store._s
        with sqlite3.connect(path) as db:
            for flow, status, since in itertools.product((False, True), repeat=3):
                prepared = statements.list_executions(
                    flow=flow, status=status, since=since, limit=True, counts=True, page=page
                )
                sql = prepared.sql
                plan = " | ".join(
                    row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, [None] * sql.count("?"))
                )
                listing = plan.split(" | ")[0]
                assert listing.startswith("SEARCH executions USING INDEX ix_executions_"), plan
                if not (since and page == "after"):  # there the store keeps the tighter bound only
                    assert "(created_at,exec_id)" in listing, plan
                assert "TEMP B-TREE" not in plan, plan  # read in index order, never sorted
    finally:
        store.close()


def test_a_cursor_reads_back_as_it_was_written_and_a_bad_one_says_what_it_wants() -> None:
    cursor = (at(1), "0123abcd")
    assert parse_cursor(cursor_text(cursor), where="before") == cursor
    for bad in ("", "0123abcd", "yesterday,0123abcd", "2026-01-01T00:00:00+00:00,"):
        with pytest.raises(KitaruUsageError, match="before cursor"):
            parse_cursor(bad, where="before")


def test_the_counts_per_flow_and_status_read_one_index_alone(tmp_path: Path) -> None:
    path = tmp_path / "kitaru.db"
    store = SqlStore.open_sqlite(path)
    try:
        with sqlite3.connect(path) as db:
            for prepared in (store._s.count_executions, store._s.count_executions_since):
                sql = prepared.sql
                plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, [None] * sql.count("?"))]
                assert plan == [
                    "SCAN executions USING COVERING INDEX ix_executions_flow_name_status_created_at"
                ]
    finally:
        store.close()
