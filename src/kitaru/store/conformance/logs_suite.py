"""Conformance tests of captured logs: batched appends, numbering, filters and following.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest

from kitaru._types import utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.store.base import LogRecord, MetadataStore
from kitaru.store.conformance.records import add_execution

__all__ = ["LOG_TESTS"]


def log(exec_id: str, message: str, **fields: Any) -> LogRecord:
    return LogRecord(exec_id=exec_id, timestamp=fields.pop("timestamp", utcnow()), message=message, **fields)


def unnumbered(records: list[LogRecord]) -> list[LogRecord]:
    return [dataclasses.replace(r, seq=0) for r in records]


# -- logs -------------------------------------------------------------------
def test_append_and_list_logs(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    other = add_execution(store).exec_id
    plus_two = dt.timezone(dt.timedelta(hours=2))
    records = [
        log(exec_id, "starting", timestamp=dt.datetime(2025, 5, 1, 14, 0, 0, 7, tzinfo=plus_two)),
        log(exec_id, "fetching\nwith two lines ✓", call_id="c1", invocation_id="fetch:0", source="stderr"),
        log(exec_id, "", level="WARNING", source="logging", call_id="c1", invocation_id="fetch:0"),
    ]
    store.append_logs(records[:2])
    store.append_logs([log(other, "elsewhere")])
    store.append_logs(records[2:])
    got = store.list_logs(exec_id)
    assert unnumbered(got) == records
    assert got[0].timestamp.utcoffset() == dt.timedelta(0) and got[0].timestamp.hour == 12
    seqs = [r.seq for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and seqs[0] > 0
    elsewhere = store.list_logs(other)
    assert [r.message for r in elsewhere] == ["elsewhere"] and elsewhere[0].seq not in seqs
    store.append_logs([])
    assert store.list_logs(add_execution(store).exec_id) == []


def test_list_logs_filters(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    store.append_logs([log(exec_id, f"m{i}", call_id="c1" if i % 2 else None) for i in range(6)])
    everything = store.list_logs(exec_id)
    assert [r.message for r in everything] == [f"m{i}" for i in range(6)]
    assert [r.message for r in store.list_logs(exec_id, call_id="c1")] == ["m1", "m3", "m5"]
    assert [r.message for r in store.list_logs(exec_id, after_seq=everything[2].seq)] == ["m3", "m4", "m5"]
    assert [r.message for r in store.list_logs(exec_id, limit=2)] == ["m0", "m1"]
    assert [
        r.message for r in store.list_logs(exec_id, call_id="c1", after_seq=everything[1].seq, limit=1)
    ] == ["m3"]
    assert store.list_logs(exec_id, after_seq=everything[-1].seq) == []
    assert store.list_logs(exec_id, limit=0) == []
    assert store.list_logs(exec_id, call_id="nope") == []
    with pytest.raises(KitaruUsageError):
        store.list_logs(exec_id, limit=-1)
    # Following: ask for what came after the last line seen.
    store.append_logs([log(exec_id, "m6"), log(exec_id, "m7")])
    assert [r.message for r in store.list_logs(exec_id, after_seq=everything[-1].seq)] == ["m6", "m7"]


def test_append_logs_keeps_the_order_of_a_batch(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    same_time = utcnow()
    first = [log(exec_id, f"line {i}", timestamp=same_time) for i in range(200)]
    second = [log(exec_id, f"line {i}", timestamp=same_time) for i in range(200, 250)]
    store.append_logs(first)
    store.append_logs(second)
    got = store.list_logs(exec_id)
    assert unnumbered(got) == first + second
    assert all(a.seq < b.seq for a, b in itertools.pairwise(got))


def test_logs_of_missing_executions(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.list_logs("missing-exec")
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.append_logs([log(exec_id, "kept out"), log("missing-exec", "nowhere")])
    assert store.list_logs(exec_id) == []


LOG_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
