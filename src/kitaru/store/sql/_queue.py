"""The work queue of workers: putting executions in it and claiming the oldest work.

An execution is *queued* while ``queued_at`` is set, no runner holds it and it is
``pending``; a claim takes the oldest one (``queued_at`` no later than now) and starts it
as :meth:`claim_execution` does. An *orphan* (a ``running`` or ``pending`` execution whose
runner's heartbeat is older than the lease) is work too. On PostgreSQL the claim locks its
candidate with ``FOR UPDATE SKIP LOCKED`` (workers never wait for each other) and putting
work in the queue sends a ``NOTIFY`` that wakes waiting claims at once (one ``LISTEN``
connection per store); on SQLite a waiting claim looks again every few milliseconds.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Collection, Sequence
from typing import Any

from kitaru._types import ExecutionStatus, utcnow
from kitaru.records import ExecutionRecord
from kitaru.store.sql._connection import StoreCore, status_of
from kitaru.store.sql._rows import execution_from_row

__all__ = ["QueueMethods"]

#: The PostgreSQL channel that tells waiting claims that work was queued.
CHANNEL = "kitaru_work"
_SQLITE_POLL = 0.02  # seconds between looks of a waiting claim on SQLite


class QueueMethods(StoreCore):
    """The methods of :class:`~kitaru.store.sql.SqlStore` for the work queue of workers."""

    _listener: _Listener | None = None

    def enqueue_execution(
        self,
        exec_id: str,
        *,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None = None,
        queue: str | None = None,
        not_before: dt.datetime | None = None,
    ) -> ExecutionRecord | None:
        """Put the execution in the work queue (compare-and-set); see
        :meth:`kitaru.store.base.MetadataStore.enqueue_execution`."""
        statuses = tuple(sorted({status_of(status).value for status in expected}))
        if not statuses:
            self._require_execution(exec_id)
            return None
        now = utcnow()
        params: dict[str, Any] = {
            "b_exec_id": exec_id,
            "b_expected_runner": expected_runner,
            "b_now": now,
            "b_queued_at": not_before or now,
            "b_queue": queue,
            **{f"b_expected_{index}": value for index, value in enumerate(statuses)},
        }
        stmt = self._s.enqueue_execution(len(statuses))
        try:
            with self._writing() as cur:
                row = stmt.one(cur, params)
                if row is None:
                    self._require_execution(exec_id, cur)
                elif not self._writers_take_turns:
                    cur.execute(f"SELECT pg_notify('{CHANNEL}', '')")
        except self._errors as exc:
            self._raise(f"queue execution '{exec_id}'", exc)
        return None if row is None else execution_from_row(row)

    def claim_queued_execution(
        self,
        *,
        runner_id: str,
        lease_seconds: float,
        flows: Sequence[str] | None = None,
        queue: str | None = None,
        wait: float = 0.0,
    ) -> ExecutionRecord | None:
        """Claim the oldest queued execution, else the oldest orphan; see
        :meth:`kitaru.store.base.MetadataStore.claim_queued_execution`."""
        deadline = time.monotonic() + max(wait, 0.0)
        listener = self._work_listener() if wait > 0 and not self._writers_take_turns else None
        while True:
            seen = listener.count if listener is not None else 0
            record = self._claim_once(runner_id, lease_seconds, flows, queue)
            left = deadline - time.monotonic()
            if record is not None or left <= 0:
                return record
            if listener is None:
                time.sleep(min(_SQLITE_POLL, left))
            else:
                listener.wait(seen, left)

    def _claim_once(
        self, runner_id: str, lease_seconds: float, flows: Sequence[str] | None, queue: str | None
    ) -> ExecutionRecord | None:
        now = utcnow()
        params: dict[str, Any] = {
            "b_runner_id": runner_id,
            "b_now": now,
            "b_cutoff": now - dt.timedelta(seconds=lease_seconds),
        }
        if flows is not None:
            params["b_flows"] = list(flows)
        if queue is not None:
            params["b_queue"] = queue
        try:
            for orphans in (False, True):
                stmt = self._s.claim_queued(orphans=orphans, flows=flows is not None, queue=queue is not None)
                with self._writing() as cur:
                    row = stmt.one(cur, params)
                if row is not None:
                    return execution_from_row(row)
        except self._errors as exc:
            self._raise(f"claim queued work for runner '{runner_id}'", exc)
        return None

    def _work_listener(self) -> _Listener:
        listener = self._listener
        if listener is None:
            with _listener_lock:
                listener = self._listener
                if listener is None:
                    listener = self._listener = _Listener(self._engine)
        return listener

    def close(self) -> None:
        """Stop listening for work, then close the store."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        super().close()


_listener_lock = threading.Lock()


class _Listener:
    """One PostgreSQL connection that ``LISTEN``s for queued work and counts notifications;
    claims wait on its condition instead of asking the database again and again."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        self._cond = threading.Condition()
        self._engine = engine
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kitaru-work-listener", daemon=True)
        self._thread.start()

    def wait(self, seen: int, timeout: float) -> None:
        """Wait until a notification arrived after ``seen`` was read, or ``timeout`` seconds."""
        with self._cond:
            self._cond.wait_for(lambda: self.count != seen, timeout)

    def stop(self) -> None:
        """Stop listening (the connection closes within a second)."""
        self._stopped.set()

    def _bump(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def _run(self) -> None:
        failing = False
        while not self._stopped.is_set():
            try:
                raw = self._engine.raw_connection()
                conn = raw.driver_connection
                raw.detach()  # this connection is the listener's alone, never back in the pool
                try:
                    conn.autocommit = True
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._bump()  # anything queued while not listening: look again
                    failing = False
                    while not self._stopped.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._bump()
                finally:
                    conn.close()
            except Exception as exc:  # the database went away: waiting claims fall back to their timeout
                if not failing:
                    print(f"kitaru: listening for queued work failed: {exc}; trying again", file=sys.stderr)
                failing = True
                self._bump()
                self._stopped.wait(1.0)
