"""Log capture: stdout, stderr and ``logging`` records of a running execution.

:func:`install` puts tee proxies in front of ``sys.stdout``/``sys.stderr`` and
one handler on the root logger. Output always reaches the original streams;
inside an execution whose context has a :class:`LogSink` (``ctx.logs``) it is
also recorded for the checkpoint call that wrote it (or the flow body).

Example:
    >>> from kitaru.runtime.logs import install, uninstall
    >>> install()
    >>> print("shown on the terminal; recorded only inside an execution")
    shown on the terminal; recorded only inside an execution
    >>> uninstall()
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from kitaru._types import utcnow
from kitaru.records import LogRecord
from kitaru.runtime.context import current_call, current_execution
from kitaru.store.base import MetadataStore

if TYPE_CHECKING:
    import logging

__all__ = ["LogSink", "install", "uninstall"]

_STREAM_LEVELS = {"stdout": "INFO", "stderr": "WARNING"}


class _Guard(threading.local):
    """Set while this thread records or stores logs: output made then is not captured."""

    active: bool = False


_guard = _Guard()
_install_lock = threading.Lock()
_proxies: dict[str, _TeeStream] = {}  # the newest proxy of each stream
_made: weakref.WeakSet[_TeeStream] = weakref.WeakSet()
_handler: logging.Handler | None = None


def _say(line: str) -> None:
    """Write one line to the original stderr (not through the proxy); never raise."""
    stream: Any = sys.stderr
    while isinstance(stream, _TeeStream):
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

    def emit(
        self,
        source: str,
        level: str,
        message: str,
        *,
        call_id: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        """Record output of the execution; never raises.

        Args:
            source: ``"stdout"`` and ``"stderr"`` text is split into lines; any
                other source (``"logging"``) is one record per message.
            level: The level name stored with the record(s).
            message: The text written, or the formatted log message.
            call_id: The checkpoint call that wrote it; ``None`` for the flow body.
            invocation_id: That call's invocation id.
        """
        if _guard.active or self._closed:
            return
        _guard.active = True
        try:
            with self._lock:
                before = len(self._buffer)
                if source in _STREAM_LEVELS:
                    self._add_text(source, level, message, call_id, invocation_id)
                else:
                    self._add(source, level, message.rstrip(), call_id, invocation_id)
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
            _guard.active = False

    def flush(self, *, partial: bool = True) -> None:
        """Store the buffered records now, in one ``append_logs`` call.

        Args:
            partial: Also record unfinished lines (text not yet ended by a newline).
        """
        was, _guard.active = _guard.active, True
        try:
            if partial:
                with self._lock:
                    self._end_partial_lines()
            self._store_buffer(block=True)
        finally:
            _guard.active = was

    def close(self) -> None:
        """Record unfinished lines and the dropped-lines markers, store everything, stop capturing."""
        was, _guard.active = _guard.active, True
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
                _say(f"kitaru: {len(self._buffer)} log lines of execution {self.exec_id} were not stored.")
        finally:
            _guard.active = was

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

    def _add(self, source: str, level: str, message: str, call_id: str | None, inv: str | None) -> None:
        if not message or message.isspace():
            return
        if self._accepted >= self.max_records:
            self._dropped += 1
            return
        self._accepted += 1
        if len(message) > self.max_message:
            cut = self.max_message
            message = f"{message[:cut]}… [{len(message) - cut} more characters truncated]"
        self._buffer.append(LogRecord(self.exec_id, utcnow(), message, level, source, call_id, inv))

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
                    _say(
                        f"kitaru: could not store captured logs of execution {self.exec_id} "
                        f"({type(exc).__name__}: {exc}); keeping them for a later attempt."
                    )
            else:
                self._retry_at = 0.0
        finally:
            self._flush_lock.release()


def _capture(source: str, level: str, message: str) -> None:
    ctx = current_execution()
    if ctx is None:
        return
    sink = getattr(ctx, "logs", None)
    if sink is None:
        return
    call = current_call()
    call_id, invocation_id = (call.call_id, call.invocation_id) if call is not None else (None, None)
    sink.emit(source, level, message, call_id=call_id, invocation_id=invocation_id)


class _TeeStream:
    """Stands in for ``sys.stdout``/``sys.stderr``: writes through, and captures in executions."""

    def __init__(self, original: Any, source: str) -> None:
        self._original, self._active = original, True
        self._source, self._level = source, _STREAM_LEVELS[source]

    def write(self, text: str) -> int:
        written: int  # the original's answer, whatever it is
        if current_execution() is None or not self._active or _guard.active or type(text) is not str:
            written = self._original.write(text)
            return written
        _capture(self._source, self._level, text)
        _guard.active = True  # a proxy behind this one (wrapped by other code) must not capture again
        try:
            written = self._original.write(text)
        finally:
            _guard.active = False
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._original.flush()

    def isatty(self) -> bool:
        answer: bool = self._original.isatty()
        return answer

    def fileno(self) -> int:
        fd: int = self._original.fileno()
        return fd

    def __getattr__(self, name: str) -> Any:  # encoding, buffer, errors, name, mode, closed, ...
        if name == "_original":  # not set yet (a copy being built): do not recurse
            raise AttributeError(name)
        return getattr(self._original, name)


def _make_handler() -> logging.Handler:
    import logging

    class _CaptureHandler(logging.Handler):
        """Records ``logging`` records of executions; stands in for ``logging.lastResort``."""

        def handle(self, record: logging.LogRecord) -> Any:
            if not self.filter(record):
                return False
            self.emit(record)
            return True

        def emit(self, record: logging.LogRecord) -> None:
            if not _guard.active and current_execution() is not None:
                with contextlib.suppress(Exception):
                    _capture("logging", record.levelname, self.format(record))
            self._last_resort(record)

        def _last_resort(self, record: logging.LogRecord) -> None:
            """Without this handler, a record no other handler takes goes to ``lastResort``."""
            last = logging.lastResort
            if last is None or record.levelno < last.level:
                return
            logger: Any = logging.Logger.manager.loggerDict.get(record.name)
            node: Any = logger if isinstance(logger, logging.Logger) else logging.getLogger()
            while node is not None:
                if any(h is not self and record.levelno >= h.level for h in node.handlers):
                    return
                node = node.parent if node.propagate else None
            was, _guard.active = _guard.active, True
            try:
                last.handle(record)
            finally:
                _guard.active = was

    return _CaptureHandler()


def install() -> None:
    """Capture stdout, stderr and ``logging`` records of executions; idempotent, thread-safe.

    Replaces ``sys.stdout`` and ``sys.stderr`` with proxies that always write to
    the original streams and adds one handler to the root logger (its level is
    left alone). Outside an execution nothing is recorded.

    Example:
        >>> from kitaru.runtime.logs import install
        >>> install()
        >>> install()  # a second call changes nothing
    """
    global _handler
    with _install_lock:
        for source in _STREAM_LEVELS:
            current = getattr(sys, source)
            if isinstance(current, _TeeStream) and current._active:
                continue
            while isinstance(current, _TeeStream):
                current = current._original
            if current is None:
                continue
            proxy = _proxies[source] = _TeeStream(current, source)
            _made.add(proxy)
            setattr(sys, source, proxy)
        if _handler is None:
            import logging

            _handler = _make_handler()
            logging.getLogger().addHandler(_handler)


def uninstall() -> None:
    """Undo :func:`install`: restore the original streams and remove the handler.

    A stream replaced by someone else since is left alone; the proxy only writes through.

    Example:
        >>> from kitaru.runtime.logs import install, uninstall
        >>> install()
        >>> uninstall()
    """
    global _handler
    with _install_lock:
        for source, proxy in _proxies.items():
            if getattr(sys, source) is proxy:
                setattr(sys, source, proxy._original)
        for made in list(_made):
            made._active = False
        _proxies.clear()
        if _handler is not None:
            import logging

            logging.getLogger().removeHandler(_handler)
            _handler = None
