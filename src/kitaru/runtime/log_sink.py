"""The log sink of one execution: captured lines, buffered and stored in batches.

:mod:`kitaru.runtime.logs` decides what is captured and for which call; a
:class:`LogSink` turns stream text into lines, keeps the records in order and
stores them with ``append_logs`` without ever breaking the code being logged.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from kitaru._types import utcnow
from kitaru.records import LogRecord
from kitaru.store.base import MetadataStore

__all__ = ["STREAM_LEVELS", "LogSink", "guard", "say"]

STREAM_LEVELS = {"stdout": "INFO", "stderr": "WARNING"}
"""The sources whose text is split into lines, and the level their lines get."""


class _Guard(threading.local):
    """Set while this thread records or stores logs: output made then is not captured."""

    active: bool = False


guard = _Guard()
"""This thread's capture guard (see :class:`_Guard`)."""


def say(line: str) -> None:
    """Write one line to the original stderr (past every capture proxy, and past the descriptor's
    pipe while it is captured); never raise."""
    stream: Any = sys.stderr
    while getattr(type(stream), "kitaru_tee", False):
        stream = stream._original
    with contextlib.suppress(Exception):
        stream.write(line.replace("\n", " ") + "\n")
        stream.flush()


class LogSink:
    """Buffers the captured log lines of one execution and stores them in batches.

    Stream text becomes one record per line (unfinished lines wait per source
    and call); blank lines are dropped, a carriage return keeps the text after
    it, long messages are truncated, records past ``max_records`` are counted
    and :meth:`close` stores one marker for them. A failing store never breaks
    the code being logged: records are kept (bounded) for a later attempt and
    one line goes to the original stderr.

    Args:
        store: Where the records go.
        exec_id: The execution the records belong to.
        max_records: The most records stored for the execution.
        max_message: The longest message kept, in characters.
        batch: Store the buffer when it holds this many records.
        interval: Store the buffer when this many seconds passed since the last write.
        on_close: Called once when the sink closes, before its last records are stored.

    Example:
        >>> sink = LogSink(store, exec_id)  # doctest: +SKIP
        >>> sink.emit("logging", "INFO", "hello", call_id=None, invocation_id=None)  # doctest: +SKIP
        >>> sink.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        store: MetadataStore,
        exec_id: str,
        *,
        max_records: int = 100_000,
        max_message: int = 16_384,
        batch: int = 200,
        interval: float = 0.5,
        on_close: Callable[[LogSink], None] | None = None,
    ) -> None:
        self.store = store
        self.exec_id = exec_id
        self.max_records = max_records
        self.max_message = max_message
        self.batch = max(1, batch)
        self.interval = interval
        self._lock, self._flush_lock = threading.Lock(), threading.Lock()
        self._buffer: list[LogRecord] = []
        self._partial: dict[tuple[str, str | None], tuple[str, str, str | None]] = {}
        self._accepted = self._dropped = self._lost = 0
        self._max_pending = min(max(self.batch * 50, 10_000), max(max_records, self.batch))
        self._last_flush = time.monotonic()
        self._retry_at = 0.0
        self._reported = self._closed = False
        self._on_close = on_close

    def emit(
        self,
        source: str,
        level: str,
        message: str,
        *,
        call_id: str | None = None,
        invocation_id: str | None = None,
        site: tuple[str, str, int] | None = None,
    ) -> None:
        """Record output of the execution; never raises.

        Args:
            source: ``"stdout"`` and ``"stderr"`` text is split into lines; any
                other source (``"logging"``) is one record per message.
            level: The level name stored with the record(s).
            message: The text written, or the formatted log message.
            call_id: The checkpoint call that wrote it; ``None`` for the flow body.
            invocation_id: That call's invocation id.
            site: Where a ``logging`` record was made: module, file name, line number.
        """
        if guard.active or self._closed:
            return
        guard.active = True
        try:
            with self._lock:
                before = len(self._buffer)
                if source in STREAM_LEVELS:
                    self._add_text(source, level, message, call_id, invocation_id)
                else:
                    self._add(source, level, message.rstrip(), call_id, invocation_id, site)
                size = len(self._buffer)
                if size == before:
                    return  # an unfinished line or a dropped record: nothing new to store
                now = time.monotonic()
                late = now - self._last_flush >= self.interval
                due = now >= self._retry_at and (size >= self.batch or late)
            if due:
                self._store_buffer(block=False)
        except Exception:
            pass
        finally:
            guard.active = False

    def flush(self, *, partial: bool = True) -> None:
        """Store the buffered records now, in one ``append_logs`` call.

        Args:
            partial: Also record unfinished lines (text not yet ended by a newline).
        """
        was, guard.active = guard.active, True
        try:
            if partial:
                with self._lock:
                    self._end_partial_lines()
            self._store_buffer(block=True)
        finally:
            guard.active = was

    def close(self) -> None:
        """Record unfinished lines and the dropped-lines markers, store everything, stop capturing."""
        hook, self._on_close = self._on_close, None
        if hook is not None:  # first: output still on its way is recorded here
            with contextlib.suppress(Exception):
                hook(self)
        was, guard.active = guard.active, True
        try:
            with self._lock:
                if self._closed:
                    return
                self._closed = True
                self._end_partial_lines()
                why = {f"limit {self.max_records} records": self._dropped, "store unavailable": self._lost}
                for reason, count in why.items():  # markers are stored past the limit
                    if count:
                        message = f"… {count} log lines dropped ({reason})"
                        self._buffer.append(LogRecord(self.exec_id, utcnow(), message, "WARNING", "kitaru"))
            self._store_buffer(block=True)
            if self._buffer:
                say(f"kitaru: {len(self._buffer)} log lines of execution {self.exec_id} were not stored.")
        finally:
            guard.active = was

    def disown(self) -> None:
        """Stop recording and store nothing more: in a forked child, whose copy of its parent's
        sink must not write to the parent's store (the parent records the child's output)."""
        self._closed, self._on_close = True, None
        self._buffer, self._partial = [], {}

    # -- internals (callers hold self._lock) ---------------------------------
    def _add_text(self, source: str, level: str, text: str, call_id: str | None, inv: str | None) -> None:
        key = (source, call_id)
        held = self._partial.pop(key, None)
        if held is not None:
            text = held[0] + text
        if "\n" in text:
            *lines, text = text.split("\n")
            for line in lines:
                line = line.rstrip("\r")
                line = line[line.rfind("\r") + 1 :]  # a carriage return keeps what follows it
                self._add(source, level, line.rstrip(), call_id, inv)
        if "\r" in text:
            text = text[text.rfind("\r", 0, len(text) - 1) + 1 :]
        if len(text) > self.max_message:
            self._add(source, level, text, call_id, inv)
        elif text:
            self._partial[key] = (text, level, inv)

    def _end_partial_lines(self) -> None:
        held, self._partial = self._partial, {}
        for (source, call_id), (text, level, inv) in held.items():
            self._add(source, level, text.rstrip(), call_id, inv)

    def _add(
        self,
        source: str,
        level: str,
        message: str,
        call_id: str | None,
        inv: str | None,
        site: tuple[str, str, int] | None = None,
    ) -> None:
        if not message or message.isspace():
            return
        if self._accepted >= self.max_records:
            self._dropped += 1
            return
        self._accepted += 1
        if len(message) > self.max_message:
            cut = self.max_message
            message = f"{message[:cut]}… [{len(message) - cut} more characters truncated]"
        if site is None:
            record = LogRecord(self.exec_id, utcnow(), message, level, source, call_id, inv)
        else:
            record = LogRecord(self.exec_id, utcnow(), message, level, source, call_id, inv, 0, *site)
        self._buffer.append(record)

    def _store_buffer(self, *, block: bool) -> None:
        """Write the buffer in one call; batches leave in the order they were taken."""
        if not self._flush_lock.acquire(blocking=block):
            return  # another thread is writing; the records wait for the next write
        try:
            with self._lock:
                batch, self._buffer = self._buffer, []
                self._last_flush = time.monotonic()
            if not batch:
                return
            try:
                self.store.append_logs(batch)
            except Exception as exc:
                with self._lock:
                    self._buffer[:0] = batch
                    excess = len(self._buffer) - self._max_pending
                    if excess > 0:
                        del self._buffer[:excess]
                        self._lost += excess
                    self._retry_at = time.monotonic() + max(self.interval, 1.0)
                    report, self._reported = not self._reported, True
                if report:
                    say(
                        f"kitaru: could not store captured logs of execution {self.exec_id} "
                        f"({type(exc).__name__}: {exc}); keeping them for a later attempt."
                    )
            else:
                self._retry_at = 0.0
        finally:
            self._flush_lock.release()
