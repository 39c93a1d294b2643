"""Deleting executions on PostgreSQL while other writers link their artifacts.

A deletion locks the rows of the executions it deletes before it looks for
links into them; a write that links another execution's artifact (a cache hit,
replay copies) first takes a key-share lock on that execution's row. Here one
side is a raw transaction of the test holding its lock, the other a store
method in a thread: whichever locked first wins, and no kept row ends up
pointing at a deleted one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from tests._helpers import wait_until
from tests._postgres import create_database

from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.records import CallRecord
from kitaru.store.conformance.records import add_execution, call, run_call
from kitaru.store.sql import SqlStore

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def url(postgres_url: str) -> str:
    return create_database(postgres_url, "retention_locks")


@pytest.fixture
def store(url: str) -> Iterator[SqlStore]:
    opened = SqlStore(url)
    yield opened
    opened.close()


def _raw(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    return thread, out


def _waiting_for_a_lock(url: str, marker: str) -> bool:
    """Whether a backend runs a statement containing ``marker`` and waits for a row lock."""
    with _raw(url) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            (f"%{marker}%",),
        ).fetchone()
    return bool(rows and rows[0])


def _source(store: SqlStore) -> tuple[str, CallRecord]:
    source = add_execution(store, status=ExecutionStatus.COMPLETED, ended_at=utcnow()).exec_id
    key = f"ck-{new_id()}"
    run_call(store, source, "fetch:0", 1, cache_key=key)
    hit = store.find_cached_call(key, exclude_exec_id="nobody")
    assert hit is not None
    return source, hit


def test_a_deletion_waits_for_a_writer_that_links_its_artifacts(store: SqlStore, url: str) -> None:
    source, hit = _source(store)
    kept = add_execution(store).exec_id
    with _raw(url) as writer:
        # A writer that follows the protocol: key-share lock on the source's row, then the link.
        writer.execute("SELECT exec_id FROM executions WHERE exec_id = %s FOR KEY SHARE", (source,))
        thread, result = _in_thread(lambda: store.delete_executions([store.get_execution(source)]))
        wait_until(lambda: _waiting_for_a_lock(url, "FOR UPDATE OF executions"), timeout=30)
        writer.execute(
            "INSERT INTO calls (call_id, exec_id, invocation_id, seq, name, kind, status, started_at, "
            "output_artifact_id, metadata, after, attempt_count) VALUES "
            "(%s, %s, 'fetch:0', 1, 'fetch', 'checkpoint', 'cached', now(), %s, '{}', '[]', 0)",
            (new_id(), kept, hit.output_artifact_id),
        )
        writer.commit()
        thread.join(timeout=60)
    (deleted,) = result
    assert deleted.exec_ids == (source,) and deleted.adopted == 1
    (linked,) = store.load_journal(kept)
    assert linked.output is not None and linked.output.exec_id == kept
    assert hit.output is not None and linked.output.data == hit.output.data


def test_a_cache_hit_waits_for_a_deletion_of_its_source_and_misses(store: SqlStore, url: str) -> None:
    source, hit = _source(store)
    late = add_execution(store).exec_id
    with _raw(url) as deleter:
        # A deletion in progress: it holds the source's row.
        deleter.execute("SELECT exec_id FROM executions WHERE exec_id = %s FOR UPDATE", (source,))
        thread, result = _in_thread(
            lambda: store.record_cached_call(call(late, "fetch:0", 1, cache_key=hit.cache_key), source=hit)
        )
        wait_until(lambda: _waiting_for_a_lock(url, "FOR KEY SHARE OF executions"), timeout=30)
        deleter.execute("DELETE FROM executions WHERE exec_id = %s", (source,))  # rows go by cascade
        deleter.commit()
        thread.join(timeout=60)
    assert result == [False]
    assert store.load_journal(late) == []


def test_replay_copies_wait_for_a_deletion_of_their_source(store: SqlStore, url: str) -> None:
    source, _ = _source(store)
    replay = add_execution(store).exec_id
    with _raw(url) as deleter:
        deleter.execute("SELECT exec_id FROM executions WHERE exec_id = %s FOR UPDATE", (source,))
        thread, result = _in_thread(lambda: _copy_or_error(store, replay, source))
        wait_until(lambda: _waiting_for_a_lock(url, "FOR KEY SHARE OF executions"), timeout=30)
        deleter.execute("DELETE FROM executions WHERE exec_id = %s", (source,))
        deleter.commit()
        thread.join(timeout=60)
    assert result == ["KitaruStateError"]  # the source is gone: nothing copied, nothing dangling
    assert store.load_journal(replay) == []


def _copy_or_error(store: SqlStore, replay: str, source: str) -> object:
    try:
        return store.copy_calls(replay, source, before_seq=9)
    except Exception as exc:
        return type(exc).__name__
