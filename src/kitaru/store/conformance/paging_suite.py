"""Conformance tests of call listings: pages in ``seq`` order, counts, outputs and artifacts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from kitaru._types import CallStatus, utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import ArtifactRecord, CallRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, artifact, at, attempt, call, run_call

__all__ = ["PAGING_TESTS"]


def _without_data(record: ArtifactRecord) -> ArtifactRecord:
    return dataclasses.replace(record, data=None)


def _execution_of_seven(store: MetadataStore) -> tuple[str, list[CallRecord], dict[str, ArtifactRecord]]:
    """Seven calls recorded out of seq order: a retried one, one that saved values, a cached one
    whose output belongs to another execution, and a running one; returns them by seq."""
    exec_id = add_execution(store).exec_id
    other = add_execution(store).exec_id
    _, foreign = run_call(store, other, "elsewhere:0")
    outputs: dict[str, ArtifactRecord] = {}
    calls: dict[int, CallRecord] = {}
    for seq in (4, 1, 6, 2):
        c, out = run_call(store, exec_id, f"step:{seq}", seq)
        calls[seq], outputs[c.call_id] = c, out
    retried = call(exec_id, "retried:0", 3)
    first = attempt(retried.call_id, 1)
    store.begin_attempt(retried, first)
    store.fail_attempt(
        retried.call_id, first.attempt_id, failure={"message": "x"}, ended_at=utcnow(), final=False
    )
    second = attempt(retried.call_id, 2)
    store.begin_attempt(retried, second)
    saved = artifact(exec_id, name="notes", kind="context", call_id=retried.call_id, created_at=at(-10))
    store.add_artifact(saved)
    out3 = artifact(exec_id, call_id=retried.call_id, data=b"3")
    store.complete_call(retried.call_id, second.attempt_id, output=out3, ended_at=utcnow())
    calls[3], outputs[retried.call_id] = retried, out3
    cached = call(exec_id, "cached:0", 5, ended_at=utcnow())
    (source,) = store.list_calls(other)  # the completed call whose output the cached call links
    store.record_cached_call(cached, source=source)
    calls[5], outputs[cached.call_id] = cached, foreign
    running = call(exec_id, "running:0", 7)
    store.begin_attempt(running, attempt(running.call_id))
    calls[7] = running
    return exec_id, [calls[seq] for seq in sorted(calls)], {"saved": saved, **outputs}


def test_list_calls_in_seq_order_with_outputs_held_elsewhere(store: MetadataStore) -> None:
    exec_id, expected, artifacts = _execution_of_seven(store)
    listed = store.list_calls(exec_id)
    assert [c.call_id for c in listed] == [c.call_id for c in expected]
    assert [c.seq for c in listed] == [1, 2, 3, 4, 5, 6, 7]
    for got in listed[:6]:
        assert got.output_artifact_id == artifacts[got.call_id].artifact_id
    cached = listed[4]  # its output belongs to another execution: it comes along, without data
    assert cached.status is CallStatus.CACHED and cached.output == _without_data(artifacts[cached.call_id])
    assert cached.output is not None and cached.output.exec_id != exec_id
    assert all(c.output is None for c in listed if c is not cached)  # own outputs: list_artifacts
    assert listed[6].status is CallStatus.RUNNING
    assert [a.number for a in listed[2].attempts] == [1, 2]
    assert [a.status for a in listed[2].attempts] == [CallStatus.FAILED, CallStatus.COMPLETED]
    assert all(c.artifacts == () for c in listed)  # only filled when asked for


def test_list_calls_pages(store: MetadataStore) -> None:
    exec_id, expected, _ = _execution_of_seven(store)
    ids = [c.call_id for c in expected]

    def page(offset: int, limit: int | None) -> list[str]:
        return [c.call_id for c in store.list_calls(exec_id, offset=offset, limit=limit)]

    assert page(0, 3) == ids[:3]
    assert page(3, 3) == ids[3:6]
    assert page(6, 3) == ids[6:]
    assert page(2, None) == ids[2:]
    assert page(7, 3) == [] and page(100, None) == []
    assert page(0, 0) == []
    # A page holds whole calls: the retried call's two attempts are one entry.
    (retried,) = store.list_calls(exec_id, offset=2, limit=1)
    assert retried.invocation_id == "retried:0" and len(retried.attempts) == 2


def test_list_calls_fills_what_each_call_produced(store: MetadataStore) -> None:
    exec_id, expected, artifacts = _execution_of_seven(store)
    listed = store.list_calls(exec_id, offset=1, limit=4, artifacts=True)
    assert [c.seq for c in listed] == [2, 3, 4, 5]
    by_seq = {c.seq: c for c in listed}
    retried = expected[2]
    assert [a.artifact_id for a in by_seq[3].artifacts] == [
        artifacts["saved"].artifact_id,
        artifacts[retried.call_id].artifact_id,
    ]
    assert all(a.data is None for c in listed for a in c.artifacts)
    assert [a.artifact_id for a in by_seq[2].artifacts] == [artifacts[expected[1].call_id].artifact_id]
    assert by_seq[5].artifacts == ()  # its output belongs to another execution
    everything = store.list_calls(exec_id, artifacts=True)
    assert sum(len(c.artifacts) for c in everything) == 6


def test_count_calls(store: MetadataStore) -> None:
    exec_id, _, _ = _execution_of_seven(store)
    assert store.count_calls(exec_id) == 7
    empty = add_execution(store).exec_id
    assert store.count_calls(empty) == 0
    assert store.list_calls(empty, offset=0, limit=10) == []


def test_call_listing_of_a_missing_execution_and_bad_pages(store: MetadataStore) -> None:
    exec_id, _, _ = _execution_of_seven(store)
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.count_calls("missing-exec")
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.list_calls("missing-exec", offset=5, limit=5)
    with pytest.raises(KitaruUsageError, match="offset"):
        store.list_calls(exec_id, offset=-1)
    with pytest.raises(KitaruUsageError, match="limit"):
        store.list_calls(exec_id, limit=-1)


#: The cases of this module, as plain functions of one argument: the store under test.
PAGING_TESTS: list[Callable[[MetadataStore], None]] = [
    test_list_calls_in_seq_order_with_outputs_held_elsewhere,
    test_list_calls_pages,
    test_list_calls_fills_what_each_call_produced,
    test_count_calls,
    test_call_listing_of_a_missing_execution_and_bad_pages,
]
