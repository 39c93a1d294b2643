"""Conformance tests of where things came from: the call site of a log line, the
metadata of each attempt, and the artifacts of a checkpoint (by its name).

Part of ``ALL_TESTS`` (see :mod:`kitaru.store.conformance.store_suite`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kitaru._types import CallStatus, utcnow
from kitaru.errors import KitaruStateError
from kitaru.records import LogRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, artifact, attempt, call, only_call, run_call

__all__ = ["PROVENANCE_TESTS"]


def test_log_lines_keep_their_call_site(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    made = LogRecord(
        exec_id, utcnow(), "drafted", "WARNING", "logging", "c1", "draft", 0, "agent", "agent.py", 42
    )
    printed = LogRecord(exec_id, utcnow(), "hello", call_id="c1", invocation_id="draft")
    store.append_logs([made, printed])
    got = store.list_logs(exec_id)
    assert [(r.module, r.filename, r.lineno) for r in got] == [("agent", "agent.py", 42), (None, None, None)]
    assert [r.message for r in store.list_logs(exec_id, call_id="c1", limit=1)] == ["drafted"]
    assert store.list_logs(exec_id, call_id="c1", limit=1)[0].lineno == 42


def test_a_cache_hit_copies_the_call_sites_of_its_log_lines(store: MetadataStore) -> None:
    source_exec = add_execution(store).exec_id
    source, _ = run_call(store, source_exec, cache_key="ck")
    store.append_logs(
        [
            LogRecord(
                source_exec, utcnow(), "noted", "INFO", "logging", source.call_id, "step:0", 0, "m", "m.py", 7
            )
        ]
    )
    found = store.find_cached_call("ck", exclude_exec_id="other")
    assert found is not None
    exec_id = add_execution(store).exec_id
    hit = call(exec_id, "step:0", cache_key="ck")
    store.record_cached_call(hit, source=found)
    copied = store.list_logs(exec_id, call_id=hit.call_id)
    assert [(r.message, r.module, r.filename, r.lineno) for r in copied] == [("noted", "m", "m.py", 7)]


def test_metadata_merged_into_an_attempt(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    c = call(exec_id, metadata={"kitaru": {"rerun": "inputs changed"}})
    first = attempt(c.call_id)
    store.begin_attempt(c, first)
    store.merge_call_metadata(c.call_id, {"tokens": {"in": 1}}, attempt_id=first.attempt_id)
    store.fail_attempt(
        c.call_id,
        first.attempt_id,
        failure={"message": "boom", "exception_type": "E"},
        ended_at=utcnow(),
        final=False,
    )
    second = attempt(c.call_id, 2)
    store.begin_attempt(c, second)
    store.merge_call_metadata(c.call_id, {"tokens": {"out": 2}}, attempt_id=second.attempt_id)
    store.merge_call_metadata(c.call_id, {"model": "m"}, attempt_id=second.attempt_id)
    store.merge_call_metadata(c.call_id, {"note": "the call's only"})
    got = only_call(store, exec_id)
    assert [a.metadata for a in got.attempts] == [{"tokens": {"in": 1}}, {"tokens": {"out": 2}, "model": "m"}]
    assert got.metadata == {
        "kitaru": {"rerun": "inputs changed"},
        "tokens": {"in": 1, "out": 2},
        "model": "m",
        "note": "the call's only",
    }
    assert got.attempts[0].status is CallStatus.FAILED
    with pytest.raises(KitaruStateError, match="missing-attempt"):
        store.merge_call_metadata(c.call_id, {"lost": True}, attempt_id="missing-attempt")
    assert only_call(store, exec_id).metadata == got.metadata  # nothing merged


def test_an_attempt_without_logged_metadata_has_none(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    run_call(store, exec_id)
    assert [a.metadata for a in only_call(store, exec_id).attempts] == [None]


def test_list_artifacts_of_a_checkpoint_by_its_name(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    first, out1 = run_call(store, exec_id, "draft", 1)
    second, out2 = run_call(store, exec_id, "draft_2", 2, name="draft")
    other, out3 = run_call(store, exec_id, "polish", 3)
    notes = artifact(exec_id, name="notes", kind="context", call_id=second.call_id)
    store.add_artifact(notes)
    store.add_artifact(artifact(exec_id, name="topic", kind="input"))

    def ids(**filters: str) -> set[str]:
        return {a.artifact_id for a in store.list_artifacts(exec_id, **filters)}

    assert ids(producing_call="draft") == {out1.artifact_id, out2.artifact_id, notes.artifact_id}
    assert ids(producing_call="draft_2") == {out2.artifact_id, notes.artifact_id}  # an invocation id
    assert ids(producing_call=other.call_id) == {out3.artifact_id}  # a call id
    assert ids(producing_call="draft", name="notes") == {notes.artifact_id}
    assert ids(producing_call="draft", call_id=first.call_id) == {out1.artifact_id}
    assert ids(producing_call="nothing") == set()
    # Calls of another execution with that name produced nothing here.
    elsewhere = add_execution(store).exec_id
    run_call(store, elsewhere, "draft", 1)
    assert ids(producing_call="draft") == {out1.artifact_id, out2.artifact_id, notes.artifact_id}


#: The provenance cases: call sites of log lines, attempt metadata, artifacts by producing checkpoint.
PROVENANCE_TESTS: list[Callable[[MetadataStore], None]] = [
    test_log_lines_keep_their_call_site,
    test_a_cache_hit_copies_the_call_sites_of_its_log_lines,
    test_metadata_merged_into_an_attempt,
    test_an_attempt_without_logged_metadata_has_none,
    test_list_artifacts_of_a_checkpoint_by_its_name,
]
