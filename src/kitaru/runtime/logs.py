"""Log capture: stdout, stderr and ``logging`` records of a running execution.

:func:`install` puts tee proxies in front of ``sys.stdout``/``sys.stderr``,
one handler on the root logger, and notes which execution and checkpoint call
started each new thread. Output always reaches the original streams; inside
an execution whose context has a :class:`LogSink` (``ctx.logs``), or in a
thread started from one, it is also recorded for the checkpoint call that
wrote it (or the flow body).

While an execution made by :func:`execution_sink` runs, what is written to
file descriptors 1 and 2 directly (subprocesses, C extensions, ``os.write``)
is captured too (:mod:`kitaru.runtime.fd_capture`). Such text carries no
context, so it goes to the one checkpoint call running in this process when
there is exactly one, else to the one execution running here (its flow body),
else nowhere (it is still shown).

Each line is recorded once: a ``logging`` record is recorded by the handler,
not again as the text a ``StreamHandler`` writes for it to the proxies. Text
written to the original streams directly (by a stream handler made before
capture began, or a command line's output object) is shown and not recorded,
as without descriptor capture: it never goes through the descriptors' pipes.

Example:
    >>> from kitaru.runtime.logs import install, uninstall
    >>> install()
    >>> print("shown on the terminal; recorded only inside an execution")
    shown on the terminal; recorded only inside an execution
    >>> uninstall()
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

from kitaru.runtime import fd_capture
from kitaru.runtime.context import current_call, current_execution, running_calls, set_call_boundary
from kitaru.runtime.log_sink import STREAM_LEVELS, LogSink, guard
from kitaru.store.base import MetadataStore

if TYPE_CHECKING:
    import logging

__all__ = ["LogSink", "execution_sink", "install", "uninstall"]

Origin = tuple[LogSink, str | None, str | None]
"""Where a line belongs: the sink, the call id and the invocation id (both ``None``: the flow body)."""

_install_lock = threading.Lock()
_proxies: dict[str, _TeeStream] = {}  # the newest proxy of each stream
_made: weakref.WeakSet[_TeeStream] = weakref.WeakSet()
_handler: logging.Handler | None = None
_record_codes: frozenset[Any] = frozenset()  # logging code that writes a record's text to a stream
_thread_start: Any = None  # threading.Thread.start as found
_attached: dict[LogSink, None] = {}  # sinks of executions running here with descriptor capture
_attached_lock = threading.Lock()


def _origin() -> Origin | None:
    """Where output of this thread belongs now: its execution and call, or those of the thread
    that started it."""
    ctx = current_execution()
    if ctx is not None:
        sink = getattr(ctx, "logs", None)
        if sink is None:
            return None
        call = current_call()
        return (sink, call.call_id, call.invocation_id) if call is not None else (sink, None, None)
    noted = getattr(threading.current_thread(), "_kitaru_origin", None)
    if noted is None:
        return None
    started_by = noted[0]()  # a thread does not keep its execution's sink alive
    return None if started_by is None else (started_by, noted[1], noted[2])


def _emit(
    origin: Origin, source: str, level: str, message: str, site: tuple[str, str, int] | None = None
) -> None:
    sink, call_id, invocation_id = origin
    sink.emit(source, level, message, call_id=call_id, invocation_id=invocation_id, site=site)


def _start_noting_origin(thread: threading.Thread) -> None:
    """``threading.Thread.start`` while capture is installed: the new thread's output belongs
    where the starting thread's does."""
    origin = _origin()
    if origin is not None:
        with contextlib.suppress(Exception):
            thread._kitaru_origin = (weakref.ref(origin[0]), origin[1], origin[2])  # type: ignore[attr-defined]
    _thread_start(thread)


def _route(source: str, text: str) -> None:
    """Record text captured at the descriptor level (no context): see the module docstring."""
    with _attached_lock:
        sinks = list(_attached)
    if not sinks:
        return
    calls = [scope for scope in running_calls() if getattr(scope.execution, "logs", None) in sinks]
    if len(calls) == 1:
        origin: Origin = (calls[0].execution.logs, calls[0].call_id, calls[0].invocation_id)
    elif calls and all(scope.execution is calls[0].execution for scope in calls):
        origin = (calls[0].execution.logs, None, None)
    elif not calls and len(sinks) == 1:
        origin = (sinks[0], None, None)
    else:
        return  # several executions: which one wrote it is unknown
    _emit(origin, source, STREAM_LEVELS[source], text)


def execution_sink(store: MetadataStore, exec_id: str) -> LogSink:
    """The log sink of a run of ``exec_id`` in this process, with descriptor capture until it closes."""
    sink = LogSink(store, exec_id, on_close=_detach)
    with _attached_lock:
        _attached[sink] = None
    fd_capture.activate()
    return sink


def _detach(sink: LogSink) -> None:
    fd_capture.settle()  # its last descriptor-level output is recorded while it still counts
    with _attached_lock:
        _attached.pop(sink, None)
    fd_capture.deactivate()


def _from_captured_record() -> bool:
    """Whether the text being written is a ``logging`` handler's output for a record that the
    capture handler records (or recorded) anyway."""
    logging = sys.modules.get("logging")
    if logging is None or _handler is None:
        return False
    frame: Any = sys._getframe(2)  # the caller of the proxy's write()
    for _ in range(8):
        if frame is None:
            return False
        if frame.f_code in _record_codes:
            record = frame.f_locals.get("record")
            return isinstance(record, logging.LogRecord) and _reaches_capture(record)
        frame = frame.f_back
    return False


def _reaches_capture(record: logging.LogRecord) -> bool:
    import logging

    node: Any = logging.Logger.manager.loggerDict.get(record.name)
    if not isinstance(node, logging.Logger):
        node = logging.getLogger()
    while node is not None:
        if _handler in node.handlers:
            return True
        node = node.parent if node.propagate else None
    return False


class _TeeStream:
    """Stands in for ``sys.stdout``/``sys.stderr``: writes through, and captures in executions."""

    kitaru_tee = True

    def __init__(self, original: Any, source: str) -> None:
        self._original, self._active = original, True
        self._source, self._level = source, STREAM_LEVELS[source]

    def write(self, text: str) -> int:
        written: int  # the original's answer, whatever it is
        if not self._active or guard.active or type(text) is not str:
            written = self._original.write(text)
            return written
        origin = _origin()
        if origin is not None and not _from_captured_record():
            fd_capture.settle()  # what reached the descriptors before is recorded before this
            _emit(origin, self._source, self._level, text)
        guard.active = True  # a proxy behind this one (wrapped by other code) must not capture again
        try:
            written = self._original.write(text)
        finally:
            guard.active = False
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
            if not guard.active:
                origin = _origin()
                if origin is not None:
                    with contextlib.suppress(Exception):
                        site = (record.module, record.filename, record.lineno)
                        _emit(origin, "logging", record.levelname, self.format(record), site)
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
            was, guard.active = guard.active, True
            try:
                last.handle(record)
            finally:
                guard.active = was

    return _CaptureHandler()


def _disown_in_child() -> None:
    """After ``fork()``: the parent's executions are not the child's. What the child writes
    reaches the parent's pipes, and the parent records it."""
    global _attached_lock
    _attached_lock = threading.Lock()
    for sink in list(_attached):
        sink.disown()
    _attached.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_disown_in_child)


def install() -> None:
    """Capture stdout, stderr and ``logging`` records of executions; idempotent, thread-safe.

    Replaces ``sys.stdout`` and ``sys.stderr`` with proxies that always write to
    the original streams, adds one handler to the root logger (its level is left
    alone) and makes ``threading.Thread.start`` note where a new thread's output
    belongs. Outside an execution nothing is recorded.

    Example:
        >>> from kitaru.runtime.logs import install
        >>> install()
        >>> install()  # a second call changes nothing
    """
    global _handler, _record_codes, _thread_start
    with _install_lock:
        for source in STREAM_LEVELS:
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
            _record_codes = frozenset({logging.Handler.handle.__code__, logging.StreamHandler.emit.__code__})
        if threading.Thread.start is not _start_noting_origin:
            _thread_start = threading.Thread.start
            threading.Thread.start = _start_noting_origin  # type: ignore[method-assign,assignment]
        fd_capture.adopt([proxy._original for proxy in _proxies.values()])
        fd_capture.set_router(_route)
        set_call_boundary(fd_capture.settle)


def uninstall() -> None:
    """Undo :func:`install`: restore the original streams, descriptors and ``Thread.start``,
    and remove the handler.

    A stream replaced by someone else since is left alone; the proxy only writes through.

    Example:
        >>> from kitaru.runtime.logs import install, uninstall
        >>> install()
        >>> uninstall()
    """
    global _handler
    fd_capture.shutdown()
    with _attached_lock:
        _attached.clear()
    with _install_lock:
        set_call_boundary(None)
        fd_capture.set_router(None)
        if threading.Thread.start is _start_noting_origin:
            threading.Thread.start = _thread_start  # type: ignore[method-assign]
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
