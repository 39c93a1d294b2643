"""Conformance tests of retention: choosing executions to prune, deleting them, blobs left.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from kitaru._types import ArtifactKind, CallKind, CallStatus, ExecutionStatus, utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import DeletedRows, ExecutionRecord, LogRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, artifact, at, attempt, call, run_call

__all__ = ["RETENTION_TESTS"]

_DONE = ExecutionStatus.COMPLETED
_BLOB = "b" * 64
_SHARED = "5" * 64


def _ended(store: MetadataStore, **fields: Any) -> ExecutionRecord:
    """A completed execution (created and ended now unless given)."""
    now = utcnow()
    values: dict[str, Any] = {"status": _DONE, "created_at": now, "updated_at": now, "ended_at": now}
    values.update(fields)
    return add_execution(store, **values)


def _full(store: MetadataStore) -> ExecutionRecord:
    """An ended execution with rows in every table: inputs, two calls (one retried, one
    saving a value held in a blob), a result, and log lines."""
    record = _ended(store)
    exec_id = record.exec_id
    store.add_artifact(artifact(exec_id, name="inputs", kind=ArtifactKind.INPUT.value))
    first, _ = run_call(store, exec_id, "a:0", 1)
    retried = call(exec_id, "b:0", 2)
    failed = attempt(retried.call_id)
    store.begin_attempt(retried, failed)
    store.fail_attempt(retried.call_id, failed.attempt_id, failure={"m": 1}, ended_at=utcnow(), final=False)
    again = attempt(retried.call_id, 2)
    store.begin_attempt(retried, again)
    saved = artifact(
        exec_id, name="big", kind="blob", call_id=retried.call_id, data=None, blob_key=_BLOB, size=9
    )
    store.add_artifact(saved)
    store.complete_call(
        retried.call_id,
        again.attempt_id,
        output=artifact(exec_id, call_id=retried.call_id),
        ended_at=utcnow(),
    )
    store.finish_execution(
        exec_id, _DONE, result=artifact(exec_id, name="result", kind=ArtifactKind.RESULT.value)
    )
    store.append_logs(
        [LogRecord(exec_id, utcnow(), "one", call_id=first.call_id), LogRecord(exec_id, utcnow(), "two")]
    )
    return store.get_execution(exec_id)


def _assert_no_dangling_links(store: MetadataStore) -> None:
    """Nothing kept points at a deleted row: every output link and every execution's
    inputs and result name a stored artifact."""
    for record in store.list_executions():
        for linked in (record.inputs_artifact_id, record.result_artifact_id):
            if linked is not None:
                store.get_artifact(linked)
        for c in store.load_journal(record.exec_id):
            if c.output_artifact_id is not None:
                assert c.output is not None, f"call {c.call_id} links missing artifact {c.output_artifact_id}"
                assert store.get_artifact(c.output_artifact_id) == c.output


def test_delete_executions_removes_every_row_of_them(store: MetadataStore) -> None:
    doomed, kept = _full(store), _full(store)
    kept_journal, kept_logs = store.load_journal(kept.exec_id), store.list_logs(kept.exec_id)
    outputs = [c.output_artifact_id for c in store.load_journal(doomed.exec_id)]
    result = store.delete_executions([doomed])
    assert result == DeletedRows(
        exec_ids=(doomed.exec_id,), calls=2, attempts=3, artifacts=5, logs=2, adopted=0, blobs=()
    )  # the blob is still the kept execution's
    with pytest.raises(KitaruStateError, match=doomed.exec_id):
        store.get_execution(doomed.exec_id)
    with pytest.raises(KitaruStateError, match=doomed.exec_id):
        store.list_logs(doomed.exec_id)
    with pytest.raises(KitaruStateError):
        store.load_journal(doomed.exec_id)
    for artifact_id in outputs:
        with pytest.raises(KitaruStateError):
            store.get_artifact(artifact_id or "")
    assert [r.exec_id for r in store.list_executions()] == [kept.exec_id]
    assert store.load_journal(kept.exec_id) == kept_journal
    assert store.list_logs(kept.exec_id) == kept_logs
    gone = store.delete_executions([kept])
    assert gone.exec_ids == (kept.exec_id,) and gone.blobs == ((_BLOB, 9),)
    assert store.referenced_blob_keys([_BLOB]) == set()


def test_delete_executions_is_a_compare_and_set_on_status_and_runner(store: MetadataStore) -> None:
    running = add_execution(store)
    store.start_execution(running.exec_id, runner_id="r1")
    read = store.get_execution(running.exec_id)
    store.finish_execution(running.exec_id, _DONE)  # changed since it was read
    claimed = _ended(store)
    store.claim_execution(claimed.exec_id, runner_id="r2", expected={_DONE})  # claimed since
    missing = dataclasses.replace(claimed, exec_id="no-such-exec")
    fine = _ended(store)
    result = store.delete_executions([read, claimed, missing, fine, fine])
    assert result.exec_ids == (fine.exec_id,)
    assert set(result.skipped) == {running.exec_id, claimed.exec_id, "no-such-exec"}
    assert {r.exec_id for r in store.list_executions()} == {running.exec_id, claimed.exec_id}
    assert store.delete_executions([]) == DeletedRows()


def test_a_dry_run_counts_the_same_and_changes_nothing(store: MetadataStore) -> None:
    first, second = _full(store), _full(store)
    journals = {r.exec_id: store.load_journal(r.exec_id) for r in (first, second)}
    planned = store.delete_executions([first, second], dry_run=True)
    assert {r.exec_id for r in store.list_executions()} == {first.exec_id, second.exec_id}
    assert {e: store.load_journal(e) for e in journals} == journals
    assert store.referenced_blob_keys([_BLOB]) == {_BLOB}
    assert planned.blobs == ((_BLOB, 9),)  # both holders go: the blob would be free
    assert store.delete_executions([first, second]) == planned


def test_only_blobs_no_remaining_artifact_references_are_returned(store: MetadataStore) -> None:
    doomed, kept = _ended(store), _ended(store)
    own = "0" * 64
    store.add_artifact(artifact(doomed.exec_id, data=None, blob_key=own, size=7))
    store.add_artifact(artifact(doomed.exec_id, data=None, blob_key=_SHARED, size=5))
    store.add_artifact(artifact(doomed.exec_id, data=None, blob_key=_SHARED, size=5))
    store.add_artifact(artifact(kept.exec_id, name="same content", data=None, blob_key=_SHARED, size=5))
    assert store.referenced_blob_keys([own, _SHARED, "f" * 64]) == {own, _SHARED}
    assert store.delete_executions([doomed]).blobs == ((own, 7),)
    assert store.referenced_blob_keys([own, _SHARED]) == {_SHARED}
    assert store.referenced_blob_keys([]) == set()


def test_a_cache_hit_keeps_the_output_of_a_deleted_source(store: MetadataStore) -> None:
    source = _ended(store)
    ran = call(source.exec_id, "fetch:0", 1, cache_key="ck")
    first = attempt(ran.call_id)
    store.begin_attempt(ran, first)
    output = artifact(source.exec_id, call_id=ran.call_id, data=None, blob_key=_BLOB, size=9)
    store.complete_call(ran.call_id, first.attempt_id, output=output, ended_at=utcnow())
    hit_exec = _ended(store).exec_id
    hit = store.find_cached_call("ck", exclude_exec_id=hit_exec)
    assert hit is not None
    assert store.record_cached_call(call(hit_exec, "fetch:0", 1, cache_key="ck"), source=hit) is True
    before = store.load_journal(hit_exec)
    result = store.delete_executions([source])
    assert result.adopted == 1 and result.blobs == ()  # the hit's copy holds the blob
    (cached,) = store.load_journal(hit_exec)
    assert cached.status is CallStatus.CACHED and cached.output is not None
    assert cached.output_artifact_id != output.artifact_id
    expected = dataclasses.replace(
        output, artifact_id=cached.output.artifact_id, exec_id=hit_exec, call_id=cached.call_id
    )
    assert cached.output == expected
    assert dataclasses.replace(cached, output_artifact_id=None, output=None) == dataclasses.replace(
        before[0], output_artifact_id=None, output=None
    )
    (listed,) = store.list_calls(hit_exec, artifacts=True)
    assert listed.output is None and [a.artifact_id for a in listed.artifacts] == [cached.output_artifact_id]
    assert store.referenced_blob_keys([_BLOB]) == {_BLOB}
    _assert_no_dangling_links(store)


def test_a_hit_recorded_after_its_source_was_deleted_is_a_miss(store: MetadataStore) -> None:
    source = _ended(store)
    run_call(store, source.exec_id, "fetch:0", 1, cache_key="ck")
    late = _ended(store).exec_id
    hit = store.find_cached_call("ck", exclude_exec_id=late)
    assert hit is not None
    store.delete_executions([source])
    assert store.record_cached_call(call(late, "fetch:0", 1, cache_key="ck"), source=hit) is False
    assert store.load_journal(late) == []
    with pytest.raises(KitaruStateError, match="no longer exist"):
        store.seed_calls(late, [dataclasses.replace(hit, exec_id=late, attempt_count=0)])
    assert store.load_journal(late) == []


def test_replays_keep_the_outputs_of_a_deleted_source(store: MetadataStore) -> None:
    source = _ended(store)
    for seq, name in enumerate(("a:0", "b:0", "c:0"), 1):
        run_call(store, source.exec_id, name, seq)
    wait = call(source.exec_id, "ok:0", 4, kind=CallKind.WAIT)
    store.begin_attempt(wait, attempt(wait.call_id))
    store.resolve_wait(
        wait.call_id, output=artifact(source.exec_id, call_id=wait.call_id), metadata={}, ended_at=utcnow()
    )
    replay = _ended(store, original_exec_id=source.exec_id).exec_id
    assert store.copy_calls(replay, source.exec_id, before_seq=9) == 4
    again = _ended(store, original_exec_id=replay).exec_id  # a replay of the replay
    assert store.copy_calls(again, replay, before_seq=3) == 2
    values = {e: [c.output.data for c in store.load_journal(e) if c.output] for e in (replay, again)}
    result = store.delete_executions([source])
    assert result.adopted == 6
    for exec_id, data in values.items():
        journal = store.load_journal(exec_id)
        assert [c.output.data for c in journal if c.output] == data
        assert all(c.output is not None and c.output.exec_id == exec_id for c in journal)
    _assert_no_dangling_links(store)
    # The first replay's outputs are now its own: a replay of it links them, and deleting
    # it moves them again.
    third = _ended(store, original_exec_id=replay).exec_id
    assert store.copy_calls(third, replay, before_seq=9) == 4
    assert store.delete_executions([store.get_execution(replay)]).adopted == 4
    assert [c.output.data for c in store.load_journal(third) if c.output] == values[replay]
    _assert_no_dangling_links(store)


def test_deleting_executions_together_copies_nothing_between_them(store: MetadataStore) -> None:
    source = _ended(store)
    run_call(store, source.exec_id, "a:0", 1)
    replay = _ended(store).exec_id
    store.copy_calls(replay, source.exec_id, before_seq=9)
    result = store.delete_executions([store.get_execution(replay), source])
    assert result.adopted == 0 and set(result.exec_ids) == {replay, source.exec_id}
    assert store.list_executions() == []


def test_list_prunable_executions_filters_in_the_store(store: MetadataStore) -> None:
    def ended(flow: str, created: float, ended: float | None, status: ExecutionStatus = _DONE) -> str:
        return add_execution(
            store,
            flow_name=flow,
            status=status,
            created_at=at(created),
            updated_at=at(ended if ended is not None else created),
            ended_at=None if ended is None else at(ended),
        ).exec_id

    old_a = ended("a", 0, 10)
    failed_a = ended("a", 1, 11, ExecutionStatus.FAILED)
    long_a = ended("a", 2, 500)  # created early, ended late
    new_a = ended("a", 300, 310)
    old_b = ended("b", 3, 12)
    waiting_b = ended("b", 4, None, ExecutionStatus.WAITING)  # not ended: its last change counts

    def ids(**kwargs: Any) -> list[str]:
        return [r.exec_id for r in store.list_prunable_executions(**kwargs)]

    terminal = [_DONE, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED]
    assert ids(statuses=terminal, before=at(100)) == [old_a, failed_a, old_b]
    assert ids(statuses=[_DONE], before=at(100)) == [old_a, old_b]
    assert ids(statuses=[ExecutionStatus.WAITING, _DONE], before=at(100)) == [old_a, old_b, waiting_b]
    assert ids(statuses=terminal) == [old_a, failed_a, long_a, old_b, new_a]
    # keep_last keeps the newest of each flow (by creation) among those with these statuses.
    assert ids(statuses=terminal, keep_last=2) == [old_a, failed_a]
    assert ids(statuses=[_DONE], keep_last=1) == [old_a, long_a]
    assert ids(statuses=terminal, before=at(100), keep_last=3) == [old_a]
    assert ids(statuses=terminal, keep_last=0) == ids(statuses=terminal)
    assert ids(statuses=terminal, before=at(0)) == []
    assert ids(statuses=[]) == []
    with pytest.raises(KitaruUsageError, match="keep_last"):
        store.list_prunable_executions(statuses=terminal, keep_last=-1)
    record = store.list_prunable_executions(statuses=[ExecutionStatus.WAITING])[0]
    assert record == store.get_execution(waiting_b)


#: The cases of this module, as plain functions of one argument: the store under test.
RETENTION_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
