"""Begun attempts whose ``running`` row is not written yet: one commit per checkpoint.

A checkpoint call used to commit twice: once to record its ``running``
attempt (``begin_attempt``), once to complete it (``complete_call``). On an
embedded store the commit is most of the cost of a checkpoint, so the first
one is deferred:

- :func:`defer` registers the begun attempt instead of writing it.
- A call that ends within :data:`RUNNING_ROW_DELAY_S` writes its begin and
  its outcome together: :func:`settle` says the begin is still unwritten, and
  the call records ``record_completed_attempt`` (one transaction).
- A call still running after the delay gets its ``running`` row written by a
  background thread, as before: it is visible to readers, and a process
  killed during a long attempt leaves that attempt recorded, so recovery
  counts it.
- Whatever needs the row during the call (``log()`` metadata, a failure)
  writes it first (:func:`flush`, :func:`flush_call`).

What this keeps: a completed call is one transaction, so it is never half
recorded and never lost; an incomplete call runs again on recovery, as
before. What it changes: an attempt killed within its first
:data:`RUNNING_ROW_DELAY_S` leaves no row (it had not completed, and runs
again), and readers see a short call only once it ended.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from kitaru.records import AttemptRecord, CallRecord
from kitaru.store.base import MetadataStore

__all__ = ["RUNNING_ROW_DELAY_S", "PendingBegin", "defer", "flush", "flush_call", "settle"]

#: How long a begun attempt may stay unwritten: the running row of a longer call is written after
#: one to two times this.
RUNNING_ROW_DELAY_S = 0.05

_PENDING, _WRITING, _WRITTEN = 0, 1, 2


class PendingBegin:
    """A begun attempt and where its ``running`` row goes."""

    __slots__ = ("attempt", "call", "deadline", "state", "store")

    def __init__(self, store: MetadataStore, call: CallRecord, attempt: AttemptRecord) -> None:
        self.store = store
        self.call = call
        self.attempt = attempt
        self.deadline = time.monotonic() + RUNNING_ROW_DELAY_S
        self.state = _PENDING


_cond = threading.Condition()
_pending: dict[str, PendingBegin] = {}
_writer: threading.Thread | None = None


def defer(store: MetadataStore, call: CallRecord, attempt: AttemptRecord) -> PendingBegin:
    """Register a begun attempt; its row is written with its outcome or after the delay."""
    global _writer
    entry = PendingBegin(store, call, attempt)
    with _cond:
        _pending[call.call_id] = entry
        if _writer is None:
            _writer = threading.Thread(target=_write_due, name="kitaru-running-rows", daemon=True)
            _writer.start()
    return entry


def settle(entry: PendingBegin) -> bool:
    """Take the attempt back for its outcome: ``True`` when its begin is unwritten (the caller
    writes it with the outcome), ``False`` when its running row is in the store."""
    with _cond:
        while entry.state == _WRITING:
            _cond.wait()
        if _pending.get(entry.call.call_id) is entry:
            del _pending[entry.call.call_id]
        return entry.state == _PENDING


def flush(entry: PendingBegin) -> None:
    """Write the attempt's running row now unless it is written (the attempt goes on)."""
    with _cond:
        while entry.state == _WRITING:
            _cond.wait()
        if _pending.get(entry.call.call_id) is entry:
            del _pending[entry.call.call_id]
        if entry.state == _WRITTEN:
            return
        entry.state = _WRITING
    _write(entry, raise_errors=True)


def flush_call(call_id: str) -> None:
    """Write the running row of the call's begun attempt, if it is still pending."""
    with _cond:
        entry = _pending.get(call_id)
    if entry is not None:
        flush(entry)


def _write(entry: PendingBegin, *, raise_errors: bool) -> None:
    ok = False
    try:
        entry.store.begin_attempt(entry.call, entry.attempt)
        ok = True
    except Exception as exc:
        if raise_errors:
            raise
        # The owner writes the begin with the outcome instead; say why it is not visible yet.
        print(
            f"kitaru: recording the running attempt of call {entry.call.invocation_id!r} "
            f"of execution {entry.call.exec_id} failed: {exc}",
            file=sys.__stderr__,
        )
    finally:
        with _cond:
            entry.state = _WRITTEN if ok else _PENDING
            entry.deadline = time.monotonic() + RUNNING_ROW_DELAY_S
            _cond.notify_all()


def _write_due() -> None:
    global _writer
    idle = 0
    while True:
        time.sleep(RUNNING_ROW_DELAY_S / 2)
        with _cond:
            if not _pending:
                idle += 1
                if idle >= 40:  # about a second without calls: the thread ends, defer() starts another
                    _writer = None
                    return
                continue
            idle = 0
            now = time.monotonic()
            due = [e for e in _pending.values() if e.state == _PENDING and e.deadline <= now]
            for entry in due:
                entry.state = _WRITING
                del _pending[entry.call.call_id]
        for entry in due:
            _write(entry, raise_errors=False)


def _after_fork_in_child() -> None:
    # The writer thread does not exist in a forked child, and the lock may have been held.
    global _cond, _writer
    _cond = threading.Condition()
    _pending.clear()
    _writer = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
