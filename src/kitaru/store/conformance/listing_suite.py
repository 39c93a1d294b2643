"""Conformance tests of execution lists: pages bounded by a cursor, and counts per flow and status.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import pytest

from kitaru._types import ExecutionStatus
from kitaru.errors import KitaruUsageError
from kitaru.records import ExecutionSummary
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, at, run_call

__all__ = ["LISTING_TESTS"]

_STATUSES = (ExecutionStatus.COMPLETED, ExecutionStatus.WAITING, ExecutionStatus.FAILED)


def _cursor(summary: ExecutionSummary) -> tuple[dt.datetime, str]:
    return summary.record.created_at, summary.record.exec_id


def _ids(summaries: list[ExecutionSummary]) -> list[str]:
    return [s.record.exec_id for s in summaries]


def _seed(store: MetadataStore) -> list[str]:
    """23 executions of two flows in three statuses; some created at the same instant
    (their ids break the tie). Returns their ids in list order (newest first)."""
    made = [
        add_execution(
            store,
            flow_name="even" if i % 2 == 0 else "odd",
            status=_STATUSES[i % 3],
            created_at=at(i // 3),  # three at each instant
        )
        for i in range(23)
    ]
    made.sort(key=lambda r: (r.created_at, r.exec_id), reverse=True)
    return [r.exec_id for r in made]


def test_pages_before_a_cursor_walk_the_whole_list_without_gaps_or_repeats(store: MetadataStore) -> None:
    expected = _seed(store)
    run_call(store, expected[8], "step:0")
    pages: list[list[ExecutionSummary]] = [store.list_execution_summaries(limit=5)]
    while pages[-1]:
        pages.append(store.list_execution_summaries(limit=5, before=_cursor(pages[-1][-1])))
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3, 0]
    assert [i for page in pages for i in _ids(page)] == expected
    # The counts come with a page as with the first one.
    assert [s.checkpoint_count for page in pages for s in page if s.record.exec_id == expected[8]] == [1]

    # Back again: the page after the first row of a page is the page before it.
    for newer, older in itertools.pairwise(pages[:-1]):
        assert _ids(store.list_execution_summaries(limit=5, after=_cursor(older[0]))) == _ids(newer)
    # Near the top, fewer than a page; without a limit, everything on that side.
    assert _ids(store.list_execution_summaries(limit=5, after=_cursor(pages[0][2]))) == expected[:2]
    assert _ids(store.list_execution_summaries(after=_cursor(pages[1][0]))) == expected[:5]
    assert _ids(store.list_execution_summaries(before=_cursor(pages[3][4]))) == expected[20:]
    assert store.list_execution_summaries(limit=5, after=_cursor(pages[0][0])) == []


def test_a_page_keeps_the_filters_and_takes_a_cursor_of_any_zone(store: MetadataStore) -> None:
    expected = _seed(store)
    rows = store.list_execution_summaries(flow="even", status="waiting")
    assert rows and all(
        s.record.flow_name == "even" and s.record.status is ExecutionStatus.WAITING for s in rows
    )
    first = store.list_execution_summaries(flow="even", status="waiting", limit=1)
    rest = store.list_execution_summaries(flow="even", status="waiting", before=_cursor(first[0]))
    assert _ids(first + rest) == _ids(rows)
    waiting = store.list_execution_summaries(status="waiting")
    oldest = _cursor(waiting[-1])
    assert _ids(store.list_execution_summaries(status="waiting", after=oldest)) == _ids(waiting[:-1])
    assert _ids(store.list_execution_summaries(status="waiting", after=oldest, limit=2)) == _ids(
        waiting[-3:-1]
    )
    # The same instant spelled in another zone, or naive (taken as UTC), bounds the same page.
    middle = store.list_execution_summaries()[10]
    zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
    for when in (middle.record.created_at.astimezone(zone), middle.record.created_at.replace(tzinfo=None)):
        assert _ids(store.list_execution_summaries(before=(when, middle.record.exec_id))) == expected[11:]
    assert _ids(store.list_execution_summaries(since=at(6), before=_cursor(middle))) == [
        i for i in expected[11:] if i in _ids(store.list_execution_summaries(since=at(6)))
    ]
    # With ``since``, a page after a cursor older than it, and one after a cursor newer than it.
    recent = store.list_execution_summaries(since=at(6))
    assert len(recent) == 5
    assert _ids(store.list_execution_summaries(since=at(6), after=_cursor(middle))) == _ids(recent)
    assert _ids(store.list_execution_summaries(since=at(6), after=_cursor(recent[3]), limit=2)) == _ids(
        recent[1:3]
    )
    with pytest.raises(KitaruUsageError, match="not both"):
        store.list_execution_summaries(before=_cursor(middle), after=_cursor(middle))


def test_count_executions_counts_each_flow_in_each_status(store: MetadataStore) -> None:
    assert store.count_executions() == {}
    _seed(store)
    counts = store.count_executions()
    assert counts == {
        "even": {"completed": 4, "waiting": 4, "failed": 4},
        "odd": {"completed": 4, "waiting": 4, "failed": 3},
    }
    # Created at at(6) or later: i from 18 to 22.
    assert store.count_executions(since=at(6)) == {
        "even": {"completed": 1, "failed": 1, "waiting": 1},
        "odd": {"completed": 1, "waiting": 1},
    }
    assert store.count_executions(since=at(100)) == {}


#: The cases of this module, as plain functions of one argument: the store under test.
LISTING_TESTS: list[Callable[[MetadataStore], None]] = [
    test_pages_before_a_cursor_walk_the_whole_list_without_gaps_or_repeats,
    test_a_page_keeps_the_filters_and_takes_a_cursor_of_any_zone,
    test_count_executions_counts_each_flow_in_each_status,
]
