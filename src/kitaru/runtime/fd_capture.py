"""Capture of what is written to file descriptors 1 and 2 while executions run here.

Subprocesses, C extensions and ``os.write`` bypass ``sys.stdout`` and
``sys.stderr``. While at least one execution with log capture runs in this
process (:func:`activate` … :func:`deactivate`), a pipe stands in for each of
the two descriptors (``dup2``). One reader thread copies everything it reads to
where the descriptor pointed before, so the terminal still shows it, and hands
the text to the router that :func:`set_router` installed (the log capture,
which records it for an execution). When the last such execution ends, the
descriptors are put back, unless something else replaced them meanwhile (a
test runner's own capture): that is then left alone.

Python-level text never goes through a pipe: while capture is active, the
original stream objects (``sys.__stdout__``, ``sys.__stderr__`` and those the
log capture's proxies write to, see :func:`adopt`) write straight to where
their descriptor pointed before. What the proxies record, they record once, with its checkpoint
call; code that kept a reference to an original stream (a CLI's output, a
``logging.StreamHandler`` made before capture) is shown and not recorded, as
without descriptor capture. Before such a write, and when a checkpoint call
starts or ends, :func:`settle` waits until what was already written to the
pipes has been copied and routed, so order is kept.

The pipes and the reader thread are made once and kept (switching between
executions costs two ``dup2`` calls per descriptor). A child process that
still holds a pipe after the descriptors were put back keeps being copied to
the terminal. POSIX only: elsewhere :func:`activate` does nothing.

Caveats: a C extension that writes more than the pipe holds (64 KiB; 1 MiB on
Linux once a pipe has filled up) while holding the GIL blocks until the GIL is
released, because the reader thread needs the GIL to empty the pipe. What is still in a
pipe when the process ends abruptly (``os._exit``, a signal) is not shown.
Child processes see a pipe, not a terminal, on their stdout and stderr (no
colours); Python code asking ``sys.stdout.isatty()`` gets the terminal's answer.
"""

from __future__ import annotations

import _thread
import codecs
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["activate", "adopt", "deactivate", "set_router", "settle", "shutdown", "write_terminal"]

_SOURCES = {1: "stdout", 2: "stderr"}
_PIPE_SIZE = 1 << 20
_FULL = 1 << 15  # a read this big means the pipe was filling up: enlarge it
_SETTLE_TIMEOUT = 0.5
# How long a call's end waits, at most, for a reader that is not stuck on a terminal (it routes
# slowly, or this busy machine does not schedule it): far longer than any write takes.
_SETTLE_CAP = 60.0
_CHUNK = 1 << 16


class _Pipe:
    """One captured descriptor: its pipe, where output goes, and how much was routed.

    ``saved`` is a copy of what ``fd`` pointed to when capture began (closed only
    under ``tee_lock``). ``busy`` is set (under the lock) before the reader takes
    bytes out of the pipe and cleared once they are routed: a pipe that is empty
    and not busy has nothing on its way. ``teeing`` is set while the reader writes a
    copy to the terminal: the one place where it can be stuck for good (a terminal that
    takes no output).
    """

    __slots__ = (
        "busy",
        "decoder",
        "enlarged",
        "fd",
        "identity",
        "open",
        "processed",
        "read_fd",
        "read_total",
        "saved",
        "source",
        "tee_lock",
        "teeing",
        "write_fd",
    )

    def __init__(self, fd: int, read_fd: int, write_fd: int, identity: tuple[int, int]) -> None:
        self.fd, self.source = fd, _SOURCES[fd]
        self.read_fd, self.write_fd, self.identity = read_fd, write_fd, identity
        self.saved = -1
        self.read_total = self.processed = 0
        self.busy, self.open, self.enlarged, self.teeing = False, True, False, False
        self.tee_lock = threading.Lock()
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")


_switch = threading.Lock()  # held for a whole activation, deactivation or shutdown
_handover = threading.RLock()  # held while the descriptors switch, and by each Python-level write
_patched: list[tuple[Any, int]] = []  # (original stream, its descriptor) writing past the pipe
_cond = threading.Condition(threading.Lock())  # guards the counters of the pipes
_pipes: dict[int, _Pipe] = {}
_active: dict[int, _Pipe] = {}  # the pipes standing in for their descriptor right now
_users = 0
_reader: int | None = None  # the reader thread's ident
_generation = 0  # counts the sets of pipes made: a thread's probe of an older set is rebuilt


class _Probe(threading.local):
    """This thread's poll object over the pipes' read ends (poll objects are not shared between
    threads): are bytes waiting?"""

    generation = -1
    poll: Any = None


_probe = _Probe()
_router: Callable[[str, str], None] | None = None
_stalled_until = 0.0


def set_router(router: Callable[[str, str], None] | None) -> None:
    """Install the function that receives captured text: ``router(source, text)``."""
    global _router
    _router = router


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        stat = os.fstat(fd)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _new_pipe(fd: int) -> _Pipe | None:
    if _identity(fd) is None:  # closed (a daemon): nothing to capture
        return None
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    identity = _identity(write_fd)
    assert identity is not None
    return _Pipe(fd, read_fd, write_fd, identity)


def activate() -> bool:
    """One more execution needs capture; the first puts the pipes in place (and gets ``True``)."""
    global _users
    if os.name != "posix":
        return False
    with _switch, _handover:
        _users += 1
        if _users > 1:
            return False
        _flush_streams()  # what Python buffered before capture goes where it was meant to
        with _cond:
            if not _pipes:
                _make_pipes()
            for pipe in _pipes.values():
                if _identity(pipe.fd) == pipe.identity:
                    _active[pipe.fd] = pipe  # never put back (replaced meanwhile, then given back)
                    continue
                try:
                    saved = os.dup(pipe.fd)
                except OSError:  # closed since, or no descriptor left: leave this one alone
                    continue
                with pipe.tee_lock:
                    old, pipe.saved = pipe.saved, saved
                    if old >= 0:
                        os.close(old)
                try:
                    os.dup2(pipe.write_fd, pipe.fd)
                except OSError:
                    continue
                _active[pipe.fd] = pipe
        return True


def adopt(streams: Iterable[Any]) -> None:
    """Make these original stream objects (and ``sys.__stdout__``, ``sys.__stderr__``) write past
    the pipes while capture is active, until :func:`shutdown`.

    Their ``write`` and ``isatty`` are set as instance attributes (the class's methods stay
    untouched). Every write then decides, under the lock a switch holds, where it goes: no text
    is left in a stream's buffer to be flushed into a pipe after a switch.
    """
    if os.name != "posix":
        return
    with _handover:
        seen = {id(stream) for stream, _ in _patched}
        for stream in [sys.__stdout__, sys.__stderr__, *streams]:
            if stream is None or id(stream) in seen:
                continue
            try:
                fd = stream.fileno()
            except Exception:  # not backed by a descriptor (a test runner's buffer)
                continue
            if fd not in _SOURCES:
                continue
            with contextlib.suppress(Exception):  # one that takes no attributes goes through the pipe
                stream.write = _writer(stream, fd)
                stream.isatty = _isatty(stream, fd)
                _patched.append((stream, fd))
                seen.add(id(stream))


def _unpatch_streams() -> None:
    while _patched:
        stream, _ = _patched.pop()
        for name in ("write", "isatty"):
            with contextlib.suppress(Exception):
                if getattr(vars(stream).get(name), "kitaru_past_pipe", False):
                    delattr(stream, name)


def _writer(stream: Any, fd: int) -> Callable[[Any], int]:
    method = type(stream).write
    encoding = getattr(stream, "encoding", None) or "utf-8"
    errors = getattr(stream, "errors", None) or "strict"

    def write(text: Any) -> int:
        if threading.get_ident() == _reader and type(text) is str:  # it never waits for a switch
            write_terminal(fd, text)
            return len(text)
        with _handover:  # the choice and the write are one step: a switch never splits them
            pipe = _active.get(fd)
            if pipe is not None and type(text) is str:
                settle()
                data = text.encode(encoding, errors)
                with pipe.tee_lock:
                    if pipe.saved >= 0:
                        _write_all(pipe.saved, data, quiet=False)
                        return len(text)
            written: int = method(stream, text)
            return written

    write.kitaru_past_pipe = True  # type: ignore[attr-defined]
    return write


def _isatty(stream: Any, fd: int) -> Callable[[], bool]:
    method = type(stream).isatty

    def isatty() -> bool:
        pipe = _active.get(fd)
        if pipe is None:
            answer: bool = method(stream)
            return answer
        with pipe.tee_lock:
            return pipe.saved >= 0 and os.isatty(pipe.saved)

    isatty.kitaru_past_pipe = True  # type: ignore[attr-defined]
    return isatty


def _make_pipes() -> None:
    global _reader, _generation
    for fd in _SOURCES:
        try:
            pipe = _new_pipe(fd)
        except OSError:  # no descriptor left: this process runs without descriptor capture
            pipe = None
        if pipe is not None:
            _pipes[fd] = pipe
    if _pipes:
        _generation += 1
        # A bare thread: started without waiting for it to run (the first execution does not
        # wait), not joined at exit, and no thread of an execution.
        _reader = _thread.start_new_thread(_read_loop, (list(_pipes.values()),))


def deactivate() -> bool:
    """One execution less needs capture; the last routes what is pending and puts the descriptors
    back (and gets ``True``)."""
    global _users
    with _switch, _handover:
        if _users == 0:
            return False
        _users -= 1
        if _users > 0:
            return False
        _flush_streams()  # what Python buffered during capture is routed too
        with _cond:
            _settle_locked(force=True)
            _restore_locked()
        return True


def _flush_streams() -> None:
    for stream in {id(s): s for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)}.values():
        with contextlib.suppress(Exception):
            stream.flush()  # type: ignore[union-attr]


def _restore_locked() -> None:
    for pipe in list(_active.values()):
        del _active[pipe.fd]
        if _identity(pipe.fd) == pipe.identity:  # still ours: nobody replaced it meanwhile
            with contextlib.suppress(OSError):
                os.dup2(pipe.saved, pipe.fd)


def shutdown() -> None:
    """Put the descriptors back and let the reader end (it ends when no process holds a pipe)."""
    global _users, _reader, _generation
    with _switch, _handover:
        if _users:
            _users = 0
            _flush_streams()
            with _cond:
                _settle_locked(force=True)
                _restore_locked()
        _unpatch_streams()
        with _cond:
            for pipe in _pipes.values():
                with contextlib.suppress(OSError):
                    os.close(pipe.write_fd)
            _pipes.clear()
            _reader = None
            _generation += 1


def settle() -> None:
    """Wait (briefly) until what was written to the pipes so far has been copied and routed."""
    if not _active or _quiet():
        return  # nothing on its way (the usual case: a microsecond)
    if threading.get_ident() == _reader:
        return
    with _cond:
        _settle_locked(force=False)


def _pending(pipe: _Pipe) -> int:
    """Bytes in the pipe not read yet."""
    import fcntl  # here, not at import: only when something is on its way
    import termios

    try:
        buffer = fcntl.ioctl(pipe.read_fd, termios.FIONREAD, b"\0\0\0\0")
    except OSError:
        return 0
    return int.from_bytes(buffer, sys.byteorder)


def _quiet() -> bool:
    """Whether nothing is on its way: the pipes are empty and the reader holds no bytes (checked
    in that order, without the lock). ``False`` when unsure."""
    probe = _probe
    try:
        if probe.generation != _generation:
            import select

            probe.poll, probe.generation = select.poll(), _generation
            for pipe in list(_pipes.values()):
                probe.poll.register(pipe.read_fd, select.POLLIN)
        return not probe.poll.poll(0) and not any(pipe.busy for pipe in _active.values())
    except (RuntimeError, OSError, ValueError):
        probe.generation = -1
        return False


def _settle_locked(*, force: bool) -> None:
    global _stalled_until
    if threading.get_ident() == _reader or _quiet():
        return
    targets = [(pipe, pipe.read_total + _pending(pipe)) for pipe in _pipes.values() if pipe.open]
    targets = [(pipe, target) for pipe, target in targets if pipe.processed < target]
    if not targets:
        return
    now = time.monotonic()
    if not force and now < _stalled_until:
        return  # the reader is stuck (its terminal does not take output): do not hold up every write
    # The reader is stuck when it makes no progress for _SETTLE_TIMEOUT while it writes to a
    # terminal that takes no output; one that routes slowly (a remote store's writes) or is not
    # scheduled (a busy machine) is waited for, up to _SETTLE_CAP.
    deadline, cap = now + _SETTLE_TIMEOUT, now + _SETTLE_CAP
    for pipe, target in targets:
        while pipe.open and pipe.processed < target:
            left = deadline - time.monotonic()
            if left <= 0:
                if not pipe.teeing and time.monotonic() < cap:
                    deadline = time.monotonic() + _SETTLE_TIMEOUT
                    continue
                _stalled_until = time.monotonic() + 5.0
                return
            before = pipe.processed
            _cond.wait(left)
            if pipe.processed > before:
                deadline = time.monotonic() + _SETTLE_TIMEOUT


def write_terminal(fd: int, text: str, *, wait: bool = True) -> None:
    """Write text to where descriptor ``fd`` pointed before capture (shown, never recorded), at
    once, without waiting for a switch; never raise. For the reader thread and signal handlers.

    ``wait=False`` (a signal handler) never waits for a lock either: when the copy target is
    busy, the text goes to the original stream (through the pipe).
    """
    pipe = _active.get(fd)
    if pipe is not None and pipe.tee_lock.acquire(blocking=wait):
        try:
            if pipe.saved >= 0:
                _write_all(pipe.saved, text.encode(errors="replace"))
                return
        finally:
            pipe.tee_lock.release()
    stream: Any = sys.__stdout__ if fd == 1 else sys.__stderr__
    with contextlib.suppress(Exception):
        type(stream).write(stream, text)  # the class's own write, never the one set while capturing
        stream.flush()


def _write_all(fd: int, data: bytes, *, quiet: bool = True) -> None:
    """Write all of ``data``; an error is dropped when ``quiet`` (the terminal went away: the text
    is still routed), else raised as the original stream would (``BrokenPipeError``)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            if quiet:
                return
            raise
        view = view[written:]


def _read_loop(pipes: list[_Pipe]) -> None:
    try:
        _read(pipes)
    except BaseException:  # never leave the descriptors on pipes nobody empties
        for pipe in pipes:
            pipe.open = False
            if _active.get(pipe.fd) is pipe and _identity(pipe.fd) == pipe.identity:
                with contextlib.suppress(OSError):
                    os.dup2(pipe.saved, pipe.fd)
            _active.pop(pipe.fd, None)
        with _cond:
            _cond.notify_all()


def _enlarge(pipe: _Pipe) -> None:
    """Give a pipe that filled up a bigger buffer (Linux), once: writers then rarely wait."""
    import fcntl

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.write_fd, set_size, _PIPE_SIZE)
    pipe.enlarged = True


def _read(pipes: list[_Pipe]) -> None:
    import select

    poller = select.poll()
    by_fd = {pipe.read_fd: pipe for pipe in pipes}
    for read_fd in by_fd:
        poller.register(read_fd, select.POLLIN)
    while by_fd:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        for read_fd, _ in events:
            pipe = by_fd.get(read_fd)
            if pipe is None:
                continue
            with _cond:
                pipe.busy = True
                try:
                    data = os.read(read_fd, _CHUNK)
                except BlockingIOError:
                    data = None
                except OSError:
                    data = b""
                if not data:
                    pipe.busy = False
                    if data is not None:  # every writer closed its end: this pipe is done
                        _close(pipe)
                        poller.unregister(read_fd)
                        del by_fd[read_fd]
                        _cond.notify_all()
                    continue
                pipe.read_total += len(data)
            if len(data) >= _FULL and not pipe.enlarged:
                _enlarge(pipe)
            _copy_and_route(pipe, data)
            with _cond:
                pipe.processed += len(data)
                pipe.busy = False
                _cond.notify_all()


def _copy_and_route(pipe: _Pipe, data: bytes) -> None:
    with pipe.tee_lock:
        if pipe.saved >= 0:
            pipe.teeing = True
            try:
                _write_all(pipe.saved, data)
            finally:
                pipe.teeing = False
    router = _router
    if router is None:
        return
    with contextlib.suppress(Exception):  # the captured code never breaks because of capture
        text = pipe.decoder.decode(data)
        if text:
            router(pipe.source, text)


def _close(pipe: _Pipe) -> None:
    pipe.open = False
    with contextlib.suppress(OSError):
        os.close(pipe.read_fd)
    with pipe.tee_lock:
        if pipe.saved >= 0 and _active.get(pipe.fd) is not pipe:
            with contextlib.suppress(OSError):
                os.close(pipe.saved)
            pipe.saved = -1


def _forget_in_child() -> None:
    """After ``fork()``: the child has no reader thread. Its descriptors stay the parent's pipes
    (the parent's reader copies and routes what it writes there); nothing here writes past them."""
    global _switch, _handover, _cond, _users, _reader, _generation
    _switch, _handover, _cond = threading.Lock(), threading.RLock(), threading.Condition(threading.Lock())
    _active.clear()
    _pipes.clear()
    _users, _reader = 0, None
    _generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
