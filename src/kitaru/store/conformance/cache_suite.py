"""The cross-execution cache part of the conformance suite: finding a source call and
recording a hit with everything the source recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from kitaru._types import CallStatus, utcnow
from kitaru.records import LogRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, artifact, attempt, call, only_call, run_call

__all__ = ["CACHE_TESTS"]


def test_record_cached_call(store: MetadataStore) -> None:
    source_exec = add_execution(store).exec_id
    source, out = run_call(store, source_exec, cache_key="ck")
    found = store.find_cached_call("ck", exclude_exec_id="other")
    assert found is not None and found.call_id == source.call_id
    exec_id = add_execution(store).exec_id
    cached = call(exec_id, cache_key="ck", ended_at=utcnow(), metadata={"m": 1})
    store.record_cached_call(cached, source=found)
    got = only_call(store, exec_id)
    assert got.call_id == cached.call_id and got.status is CallStatus.CACHED
    assert got.output_artifact_id == out.artifact_id and got.attempt_count == 0 and got.attempts == ()
    journal = store.load_journal(exec_id)
    assert journal[0].output == out
    store.record_cached_call(call(exec_id, seq=3), source=found)
    again = only_call(store, exec_id)
    assert again.call_id == cached.call_id and again.seq == 3 and again.metadata == {"m": 1}


def test_record_cached_call_copies_saved_artifacts_metadata_and_logs(store: MetadataStore) -> None:
    source_exec = add_execution(store).exec_id
    source, out = run_call(store, source_exec, cache_key="ck")
    saved = artifact(source_exec, name="outline", kind="context", call_id=source.call_id, tags=("v1",))
    other = artifact(source_exec, name="unrelated", kind="context", call_id="another-call")
    store.add_artifact(saved)
    store.add_artifact(other)
    store.merge_call_metadata(source.call_id, {"tokens": 812, "model": {"name": "fast"}})
    store.append_logs(
        [
            LogRecord(source_exec, utcnow(), "first", call_id=source.call_id, invocation_id="step:0"),
            LogRecord(source_exec, utcnow(), "elsewhere", call_id="another-call"),
            LogRecord(source_exec, utcnow(), "second", level="WARNING", call_id=source.call_id),
        ]
    )
    found = store.find_cached_call("ck", exclude_exec_id="other")
    assert found is not None and found.metadata == {"tokens": 812, "model": {"name": "fast"}}

    exec_id = add_execution(store).exec_id
    hit = call(exec_id, "step:0", cache_key="ck", metadata={"kitaru": {"cached_from": source.call_id}})
    store.record_cached_call(hit, source=found)

    got = only_call(store, exec_id)
    assert got.metadata == {
        "tokens": 812,
        "model": {"name": "fast"},
        "kitaru": {"cached_from": source.call_id},
    }
    copies = store.list_artifacts(exec_id)
    assert [(a.name, a.kind, a.call_id, a.tags) for a in copies] == [
        ("outline", "context", hit.call_id, ("v1",))
    ]
    copy = store.get_artifact(copies[0].artifact_id)
    assert copy.artifact_id != saved.artifact_id and copy.exec_id == exec_id
    assert (copy.data, copy.sha256, copy.serializer) == (saved.data, saved.sha256, saved.serializer)
    logs = store.list_logs(exec_id, call_id=hit.call_id)
    assert [(r.message, r.level, r.invocation_id) for r in logs] == [
        ("first", "INFO", "step:0"),
        ("second", "WARNING", "step:0"),
    ]
    # The source execution is unchanged.
    assert len(store.list_artifacts(source_exec)) == 3
    assert len(store.list_logs(source_exec)) == 3
    assert store.load_journal(source_exec)[0].output == out


def test_find_cached_call(store: MetadataStore) -> None:
    first = add_execution(store).exec_id
    second = add_execution(store).exec_id
    third = add_execution(store).exec_id
    assert store.find_cached_call("ck", exclude_exec_id=third) is None
    old_call, old = run_call(store, first, cache_key="ck")
    new_call, new = run_call(store, second, cache_key="ck")
    running = call(first, "running:0", 2, cache_key="ck")
    store.begin_attempt(running, attempt(running.call_id))
    other_call, other = run_call(store, first, "other:0", 3, cache_key="other")

    def found(key: str, exclude: str) -> tuple[str, object] | None:
        hit = store.find_cached_call(key, exclude_exec_id=exclude)
        return None if hit is None else (hit.call_id, hit.output)

    assert found("ck", third) == (new_call.call_id, new)
    assert found("ck", second) == (old_call.call_id, old)
    assert found("other", second) == (other_call.call_id, other)
    assert found("other", first) is None
    assert found("unknown", third) is None
    hit = store.find_cached_call("ck", exclude_exec_id=third)
    assert hit is not None and hit.output is not None and hit.output.data == new.data
    assert hit.status is CallStatus.COMPLETED and hit.exec_id == second


def test_find_cached_call_honours_not_before(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    source, _ = run_call(store, exec_id, cache_key="ck")
    ended = store.load_journal(exec_id)[0].ended_at
    assert ended is not None
    earlier, later = ended - dt.timedelta(seconds=1), ended + dt.timedelta(seconds=1)
    hit = store.find_cached_call("ck", exclude_exec_id="other", not_before=earlier)
    assert hit is not None and hit.call_id == source.call_id
    assert store.find_cached_call("ck", exclude_exec_id="other", not_before=later) is None


def test_find_cached_call_skips_failed_cached_and_seeded_calls(store: MetadataStore) -> None:
    first = add_execution(store).exec_id
    _, out = run_call(store, first, cache_key="ck")
    source = store.find_cached_call("ck", exclude_exec_id="other")
    assert source is not None
    second = add_execution(store).exec_id
    store.record_cached_call(call(second, cache_key="ck"), source=source)
    failed = call(second, "bad:0", 2, cache_key="ck")
    a = attempt(failed.call_id)
    store.begin_attempt(failed, a)
    store.fail_attempt(failed.call_id, a.attempt_id, failure={"message": "x"}, ended_at=utcnow(), final=True)
    # A copy seeded into a replay has no attempts (and none of the source's saved artifacts).
    seeded = call(
        second,
        "seeded:0",
        3,
        cache_key="ck",
        status=CallStatus.COMPLETED,
        ended_at=utcnow(),
        output_artifact_id=out.artifact_id,
    )
    store.seed_calls(second, [seeded])
    assert store.find_cached_call("ck", exclude_exec_id=first) is None


#: The cases of this module, as plain functions of one argument: the store under test.
CACHE_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
