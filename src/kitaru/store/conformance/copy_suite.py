"""Conformance tests of copying a replay's reused calls inside the store (``copy_calls``).

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from kitaru._types import CallKind, CallStatus, copied_call_id, new_id, utcnow
from kitaru.errors import KitaruBackendError, KitaruStateError
from kitaru.records import CallRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, attempt, call, run_call

__all__ = ["COPY_TESTS"]


def _source(store: MetadataStore) -> tuple[str, list[CallRecord]]:
    """An execution of seven calls by seq: done ones (one with metadata, one cached, one
    answered wait), a failed one, a running one, and done ones after them."""
    exec_id = add_execution(store).exec_id
    # An odd call id: the store must escape it where it writes it into JSON.
    run_call(store, exec_id, "a:0", 1, call_id=f'{new_id()}"\\')
    run_call(store, exec_id, "b:0", 2, metadata={"note": {"x": 1}})
    other = add_execution(store).exec_id
    run_call(store, other, "elsewhere:0", 1, cache_key="ck")
    hit = store.find_cached_call("ck", exclude_exec_id=exec_id)
    assert hit is not None
    store.record_cached_call(call(exec_id, "c:0", 3, cache_key="ck", ended_at=utcnow()), source=hit)
    failed = call(exec_id, "d:0", 4)
    first = attempt(failed.call_id)
    store.begin_attempt(failed, first)
    store.fail_attempt(
        failed.call_id, first.attempt_id, failure={"message": "x"}, ended_at=utcnow(), final=True
    )
    store.begin_attempt(running := call(exec_id, "e:0", 5), attempt(running.call_id))
    run_call(store, exec_id, "f:0", 6)
    run_call(store, exec_id, "g:0", 7)
    return exec_id, store.load_journal(exec_id)


def test_copy_calls_copies_done_calls_before_the_frontier(store: MetadataStore) -> None:
    source, journal = _source(store)
    target = add_execution(store).exec_id
    copied = store.copy_calls(target, source, before_seq=7, exclude=["f:0"])
    assert copied == 3
    wanted = [c for c in journal if c.invocation_id in ("a:0", "b:0", "c:0")]
    seeded = store.load_journal(target)
    assert [c.call_id for c in seeded] == [copied_call_id(target, c.call_id) for c in wanted]
    for copy, original in zip(seeded, wanted, strict=True):
        marker = {"replayed_from": {"exec_id": source, "call_id": original.call_id}}
        kitaru = {**original.metadata.get("kitaru", {}), **marker}
        expected = dataclasses.replace(
            original,
            call_id=copy.call_id,
            exec_id=target,
            attempt_count=0,
            metadata={**original.metadata, "kitaru": kitaru},
        )
        assert copy == expected
    assert seeded[2].status is CallStatus.CACHED and seeded[2].output == wanted[2].output
    assert seeded[1].metadata["note"] == {"x": 1}
    assert all(c.attempts == () for c in store.list_calls(target))
    assert store.load_journal(source) == journal


def test_copy_calls_copies_answered_waits_and_nothing_else(store: MetadataStore) -> None:
    source = add_execution(store).exec_id
    wait = call(source, "approve:0", 1, kind=CallKind.WAIT, metadata={"wait": {"question": "ok?"}})
    store.begin_attempt(wait, attempt(wait.call_id))
    assert store.copy_calls(add_execution(store).exec_id, source, before_seq=9) == 0
    store.resolve_wait(wait.call_id, output=None, metadata={"answer": {"by": "x"}}, ended_at=utcnow())
    target = add_execution(store).exec_id
    assert store.copy_calls(target, source, before_seq=9) == 1
    (copy,) = store.load_journal(target)
    assert copy.kind is CallKind.WAIT and copy.status is CallStatus.COMPLETED
    assert copy.metadata["wait"] == {"question": "ok?"} and copy.metadata["answer"] == {"by": "x"}
    assert copy.metadata["kitaru"]["replayed_from"] == {"exec_id": source, "call_id": wait.call_id}
    assert store.copy_calls(add_execution(store).exec_id, source, before_seq=1) == 0


def test_copy_calls_is_one_transaction(store: MetadataStore) -> None:
    source, _ = _source(store)
    target = add_execution(store).exec_id
    run_call(store, target, "b:0", 1)  # a copy's invocation id is taken
    with pytest.raises(KitaruBackendError):
        store.copy_calls(target, source, before_seq=7)
    assert [c.invocation_id for c in store.load_journal(target)] == ["b:0"]
    again = add_execution(store).exec_id
    assert store.copy_calls(again, source, before_seq=7) == 4
    with pytest.raises(KitaruBackendError):  # the copies' ids are taken
        store.copy_calls(again, source, before_seq=7)
    assert len(store.load_journal(again)) == 4


def test_copy_calls_of_missing_executions(store: MetadataStore) -> None:
    source, _ = _source(store)
    target = add_execution(store).exec_id
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.copy_calls("missing-exec", source, before_seq=7)
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.copy_calls(target, "missing-exec", before_seq=7)
    with pytest.raises(KitaruStateError, match="missing-exec"):
        store.copy_calls("missing-exec", source, before_seq=0)
    assert store.load_journal(target) == []


def test_copies_never_answer_the_cache(store: MetadataStore) -> None:
    source = add_execution(store).exec_id
    ran, _ = run_call(store, source, "a:0", 1, cache_key="ck")
    target = add_execution(store).exec_id
    assert store.copy_calls(target, source, before_seq=2) == 1
    assert store.find_cached_call("ck", exclude_exec_id=source) is None
    hit = store.find_cached_call("ck", exclude_exec_id=target)
    assert hit is not None and hit.call_id == ran.call_id


#: The cases of this module, as plain functions of one argument: the store under test.
COPY_TESTS: list[Callable[[MetadataStore], None]] = [
    test_copy_calls_copies_done_calls_before_the_frontier,
    test_copy_calls_copies_answered_waits_and_nothing_else,
    test_copy_calls_is_one_transaction,
    test_copy_calls_of_missing_executions,
    test_copies_never_answer_the_cache,
]
