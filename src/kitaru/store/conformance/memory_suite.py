"""Conformance tests of memory: versions per key and scope, the flow bodies' journal of
memory operations, maintenance, and what execution deletion leaves of memory.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import pytest

from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.errors import KitaruFencedError, KitaruStateError, KitaruUsageError
from kitaru.records import MemoryCompaction, MemoryEntry, MemoryOp
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, at

__all__ = ["MEMORY_TESTS"]

_BLOB = "e" * 64


def _entry(
    key: str = "notes", value: bytes = b'"v"', *, scope: str = "agent", **fields: object
) -> MemoryEntry:
    values: dict[str, object] = {
        "scope_type": "flow",
        "scope": scope,
        "key": key,
        "version": 0,
        "created_at": utcnow(),
        "serializer": "json",
        "type_path": "builtins:str",
        "size": len(value),
        "sha256": "0" * 64,
        "data": value,
    }
    values.update(fields)
    return MemoryEntry(**values)  # type: ignore[arg-type]


def _op(exec_id: str, op_id: str, *, after_seq: int = 0, kind: str = "set", key: str = "notes") -> MemoryOp:
    return MemoryOp(exec_id, op_id, kind, "flow", "agent", key, after_seq, utcnow())


def test_writes_of_a_key_get_consecutive_versions(store: MetadataStore) -> None:
    """Each write is the key's next version; get reads the newest or a given one, with its data."""
    assert [store.write_memory(_entry(value=f'"{n}"'.encode())).version for n in range(3)] == [1, 2, 3]
    assert store.write_memory(_entry("other")).version == 1
    newest = store.get_memory("flow", "agent", "notes")
    assert newest is not None and (newest.version, newest.data) == (3, b'"2"')
    first = store.get_memory("flow", "agent", "notes", version=1)
    assert first is not None and first.data == b'"0"' and first.deleted is False
    assert store.get_memory("flow", "agent", "notes", version=9) is None
    assert store.get_memory("flow", "agent", "missing") is None
    assert store.get_memory("namespace", "agent", "notes") is None  # scopes of other types are apart


def test_a_tombstone_hides_the_key_from_listings(store: MetadataStore) -> None:
    """A deletion is a version of its own: the newest, hidden from lists, kept in the history."""
    store.write_memory(_entry("a/1"))
    store.write_memory(_entry("a/2"))
    store.write_memory(_entry("b/1"))
    tomb = store.write_memory(
        _entry("a/2", b"", deleted=True, serializer="", type_path="", size=0, data=None)
    )
    assert tomb.version == 2 and tomb.deleted
    assert [e.key for e in store.list_memory("flow", "agent")] == ["a/1", "b/1"]
    assert [e.key for e in store.list_memory("flow", "agent", prefix="a/")] == ["a/1"]
    assert [e.key for e in store.list_memory("flow", "agent", prefix="%")] == []  # no LIKE patterns
    assert [(e.version, e.deleted) for e in store.memory_history("flow", "agent", "a/2")] == [
        (2, True),
        (1, False),
    ]
    newest = store.get_memory("flow", "agent", "a/2")
    assert newest is not None and newest.deleted
    store.write_memory(_entry("a/2"))
    assert [e.key for e in store.list_memory("flow", "agent")] == ["a/1", "a/2", "b/1"]


def test_scopes_count_their_keys(store: MetadataStore) -> None:
    """Scopes are listed by type and name, with their keys and live keys."""
    store.write_memory(_entry("x"))
    store.write_memory(_entry("y"))
    store.write_memory(_entry("y", deleted=True, data=None))
    store.write_memory(_entry("x", scope_type="namespace", scope="team"))
    scopes = [(s.scope_type, s.scope, s.keys, s.live) for s in store.list_memory_scopes()]
    assert scopes == [("flow", "agent", 2, 1), ("namespace", "team", 1, 1)]


def test_a_journaled_write_is_made_once(store: MetadataStore) -> None:
    """A write journaled with an execution returns the version it wrote when made again."""
    exec_id = add_execution(store).exec_id
    first = store.write_memory(_entry(value=b'"one"'), op=_op(exec_id, "set:flow:agent:notes"))
    again = store.write_memory(_entry(value=b'"two"'), op=_op(exec_id, "set:flow:agent:notes"))
    assert (first.version, again.version, again.data) == (1, 1, b'"one"')
    assert len(store.memory_history("flow", "agent", "notes")) == 1
    [op] = store.list_memory_ops(exec_id)
    assert (op.op_id, op.result) == ("set:flow:agent:notes", (("notes", 1),))
    with pytest.raises(KitaruStateError):
        store.write_memory(_entry(), op=_op("no-such-execution", "set:flow:agent:notes"))


def test_a_journaled_read_keeps_the_first_record(store: MetadataStore) -> None:
    """A read journaled twice keeps what it read the first time."""
    exec_id = add_execution(store).exec_id
    read = dataclasses.replace(_op(exec_id, "get:flow:agent:notes", kind="get"), result=(("notes", 1),))
    assert store.record_memory_op(read) == read
    later = dataclasses.replace(read, result=(("notes", 2),))
    assert store.record_memory_op(later).result == (("notes", 1),)
    assert [op.result for op in store.list_memory_ops(exec_id)] == [(("notes", 1),)]
    assert store.list_memory_ops(add_execution(store).exec_id) == []


def test_a_replay_copies_the_operations_before_its_frontier(store: MetadataStore) -> None:
    """copy_memory_ops copies the operations made before the given durable call, and no other."""
    source = add_execution(store).exec_id
    store.write_memory(_entry(), op=_op(source, "set:flow:agent:notes", after_seq=0))
    store.record_memory_op(dataclasses.replace(_op(source, "get:flow:agent:notes", after_seq=2, kind="get")))
    store.write_memory(_entry(), op=_op(source, "set:flow:agent:notes#2", after_seq=3))
    replay = add_execution(store).exec_id
    assert store.copy_memory_ops(replay, source, before_seq=3) == 2
    copied = {op.op_id: op for op in store.list_memory_ops(replay)}
    assert sorted(copied) == ["get:flow:agent:notes", "set:flow:agent:notes"]
    assert copied["set:flow:agent:notes"].result == (("notes", 1),)
    again = store.write_memory(_entry(value=b'"new"'), op=_op(replay, "set:flow:agent:notes"))
    assert again.version == 1  # the source's write, not a new one
    with pytest.raises(KitaruStateError):
        store.copy_memory_ops("no-such-execution", source, before_seq=3)


def test_a_stale_runner_cannot_write_memory(store: MetadataStore) -> None:
    """A journaled write carries the runner's epoch; a stale one writes nothing."""
    exec_id = add_execution(store).exec_id
    store.start_execution(exec_id, runner_id="r1")
    store.start_execution(exec_id, runner_id="r2")
    with pytest.raises(KitaruFencedError):
        store.write_memory(_entry(), op=_op(exec_id, "set:flow:agent:notes"), epoch=1)
    with pytest.raises(KitaruFencedError):
        store.record_memory_op(_op(exec_id, "get:flow:agent:notes", kind="get"), epoch=1)
    assert store.memory_history("flow", "agent", "notes") == []
    assert store.write_memory(_entry(), op=_op(exec_id, "set:flow:agent:notes"), epoch=2).version == 1


def test_purge_keeps_the_newest_versions(store: MetadataStore) -> None:
    """purge_memory keeps the ``keep`` newest versions; purge_memory_scope drops the scope."""
    for _ in range(4):
        store.write_memory(_entry())
    store.write_memory(_entry("other"))
    with pytest.raises(KitaruUsageError):
        store.purge_memory("flow", "agent", "notes", keep=0)
    assert store.purge_memory("flow", "agent", "notes", keep=2) == 2
    assert [e.version for e in store.memory_history("flow", "agent", "notes")] == [4, 3]
    assert store.purge_memory("flow", "agent", "notes", keep=2) == 0
    assert store.write_memory(_entry()).version == 5  # versions go on after a purge
    assert store.purge_memory_scope("flow", "agent") == 4
    assert store.list_memory("flow", "agent") == [] and store.list_memory_scopes() == []
    assert store.write_memory(_entry()).version == 1


def test_the_compaction_log(store: MetadataStore) -> None:
    """A compaction's audit record comes with its write; purges are logged too; newest first."""
    store.write_memory(_entry())
    audit = MemoryCompaction(
        new_id(), "compact", "flow", "agent", at(1), (("notes", 1),), target_key="summary"
    )
    written = store.write_memory(_entry("summary"), compaction=audit)
    purge = MemoryCompaction(
        new_id(), "purge", "flow", "agent", at(2), keys_affected=1, versions_deleted=3, keep=1
    )
    store.add_memory_compaction(purge)
    other = MemoryCompaction(new_id(), "purge", "namespace", "team", at(3))
    store.add_memory_compaction(other)
    log = store.list_memory_compactions(scope_type="flow", scope="agent")
    assert [r.operation for r in log] == ["purge", "compact"]
    assert (log[1].target_key, log[1].target_version, log[1].sources) == (
        "summary",
        written.version,
        (("notes", 1),),
    )
    assert (log[0].versions_deleted, log[0].keep) == (3, 1)
    assert [r.compaction_id for r in store.list_memory_compactions(key="summary")] == [audit.compaction_id]
    assert len(store.list_memory_compactions()) == 3


def test_memory_outlives_its_writer(store: MetadataStore) -> None:
    """Deleting the writing execution keeps its memory versions (and their blobs referenced)
    and drops its journal."""
    record = add_execution(store, status=ExecutionStatus.COMPLETED)
    big = _entry("big", b"", data=None, blob_key=_BLOB, sha256=_BLOB, size=100_000, exec_id=record.exec_id)
    store.write_memory(big, op=_op(record.exec_id, "set:flow:agent:big", key="big"))
    assert store.referenced_blob_keys([_BLOB, "f" * 64]) == {_BLOB}
    deleted = store.delete_executions([store.get_execution(record.exec_id)])
    assert deleted.exec_ids == (record.exec_id,) and deleted.blobs == ()
    kept = store.get_memory("flow", "agent", "big")
    assert kept is not None and kept.blob_key == _BLOB and kept.exec_id == record.exec_id
    assert store.list_memory_ops(record.exec_id) == []
    assert store.referenced_blob_keys([_BLOB]) == {_BLOB}
    store.purge_memory_scope("flow", "agent")
    assert store.referenced_blob_keys([_BLOB]) == set()


def test_concurrent_writers_lose_no_version(store: MetadataStore) -> None:
    """Writers of one key in many threads get consecutive versions, none lost or repeated."""
    versions: list[int] = []
    lock = threading.Lock()

    def writer() -> None:
        for _ in range(10):
            written = store.write_memory(_entry("counter"))
            with lock:
                versions.append(written.version)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == list(range(1, 61))
    assert [e.version for e in store.memory_history("flow", "agent", "counter")] == list(range(60, 0, -1))


#: The cases of this module, as plain functions of one argument: the store under test.
MEMORY_TESTS: list[Callable[[MetadataStore], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]
