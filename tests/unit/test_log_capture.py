"""Log capture: stdout, stderr and logging records of executions, stored per call, in order."""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.records import ExecutionRecord, LogRecord
from kitaru.runtime import context
from kitaru.runtime.context import CallScope, ExecutionContext
from kitaru.runtime.logs import LogSink, install, uninstall
from kitaru.store.sql import SqlStore

pytestmark = pytest.mark.both_modes


class CountingStore(SqlStore):
    """The real SQLite store, counting ``append_logs`` calls; can be told to fail or to talk."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.batches: list[int] = []
        self.fail = False
        self.chatty = False

    def append_logs(self, records: Sequence[LogRecord]) -> None:
        if self.chatty:  # output made while storing must not be captured again
            print("store is writing")
            sys.stderr.write("store stderr\n")
            logging.getLogger("kitaru.test.store").warning("store is logging")
        if self.fail:
            raise RuntimeError("database is locked")
        self.batches.append(len(records))
        super().append_logs(records)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    opened = CountingStore.open_sqlite(tmp_path / "s.db")
    assert isinstance(opened, CountingStore)
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def captured(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Uninstall after each test. Tests install in their body, as the engine does at each run:
    pytest puts its own streams back in place after fixtures are set up."""
    yield
    uninstall()


def new_execution(store: SqlStore, tmp_path: Path) -> ExecutionContext:
    now, exec_id = utcnow(), new_id()
    running = ExecutionStatus.RUNNING
    store.create_execution(ExecutionRecord(exec_id, "f", running, created_at=now, updated_at=now))
    artifacts = LocalArtifactStore(tmp_path / "artifacts")
    return ExecutionContext(exec_id, "f", store, artifacts, cache_enabled=False, runner_id="test")


@contextmanager
def running(ctx: ExecutionContext, sink: LogSink | None) -> Iterator[None]:
    install()
    setattr(ctx, "logs", sink)  # noqa: B010 - works with or without a declared field
    token = context.enter_execution(ctx)
    try:
        yield
    finally:
        context.exit_execution(token)


@contextmanager
def in_call(ctx: ExecutionContext, name: str) -> Iterator[CallScope]:
    scope = CallScope(ctx, new_id(), name, name)
    token = context.enter_call(scope)
    try:
        yield scope
    finally:
        context.exit_call(token)


def rows(store: SqlStore, exec_id: str, **kw: Any) -> list[tuple[Any, ...]]:
    return [
        (r.source, r.level, r.message, r.call_id, r.invocation_id) for r in store.list_logs(exec_id, **kw)
    ]


def messages(store: SqlStore, exec_id: str) -> list[str]:
    return [r.message for r in store.list_logs(exec_id)]


def test_all_sources_are_captured_per_call_in_emission_order(
    store: CountingStore, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id)
    user = logging.getLogger("kitaru.test.user")
    with running(ctx, sink):
        print("body 1")
        with in_call(ctx, "fetch") as fetch:
            print("fetch 1")
            sys.stderr.write("fetch 2\n")
            user.warning("fetch %d", 3)
            print("fetch", 4)
        with in_call(ctx, "parse") as parse:
            try:
                raise ValueError("bad row")
            except ValueError:
                user.exception("parse failed")
            sys.stderr.write("parse 2\n")
        print("body 2")
    sink.close()

    logged = rows(store, ctx.exec_id)
    assert logged[:5] == [
        ("stdout", "INFO", "body 1", None, None),
        ("stdout", "INFO", "fetch 1", fetch.call_id, "fetch"),
        ("stderr", "WARNING", "fetch 2", fetch.call_id, "fetch"),
        ("logging", "WARNING", "fetch 3", fetch.call_id, "fetch"),
        ("stdout", "INFO", "fetch 4", fetch.call_id, "fetch"),
    ]
    source, level, message, call_id, invocation_id = logged[5]
    assert (source, level, call_id, invocation_id) == ("logging", "ERROR", parse.call_id, "parse")
    assert message.startswith("parse failed\nTraceback (most recent call last):")
    assert message.endswith("ValueError: bad row")
    assert logged[6:] == [
        ("stderr", "WARNING", "parse 2", parse.call_id, "parse"),
        ("stdout", "INFO", "body 2", None, None),
    ]
    assert rows(store, ctx.exec_id, call_id=fetch.call_id)[0][2] == "fetch 1"

    out, err = capfd.readouterr()  # the terminal still shows everything
    assert out == "body 1\nfetch 1\nfetch 4\nbody 2\n"
    assert err == "fetch 2\nparse 2\n"


def test_logging_without_other_handlers_still_reaches_the_terminal_once(
    store: CountingStore, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    others = [h for h in root.handlers if type(h).__name__ != "_CaptureHandler"]
    for handler in others:
        root.removeHandler(handler)
    try:
        ctx = new_execution(store, tmp_path)
        sink = LogSink(store, ctx.exec_id)
        with running(ctx, sink):
            logging.getLogger("kitaru.test.bare").warning("careful")
            logging.getLogger("kitaru.test.bare").debug("below the root level")
        sink.close()
    finally:
        for handler in others:
            root.addHandler(handler)
    assert rows(store, ctx.exec_id) == [("logging", "WARNING", "careful", None, None)]
    assert capfd.readouterr().err == "careful\n"


def test_nothing_is_captured_outside_an_execution_or_without_a_sink(
    store: CountingStore, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id)
    install()
    print("before")
    logging.getLogger("kitaru.test.user").warning("before too")
    with running(ctx, None):
        print("no sink")
    with running(ctx, sink):
        pass
    print("after")
    sink.close()
    assert store.list_logs(ctx.exec_id) == []
    assert store.batches == []
    assert capfd.readouterr().out == "before\nno sink\nafter\n"


def test_partial_lines_wait_per_source_and_call(store: CountingStore, tmp_path: Path) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id)
    with running(ctx, sink):
        print("a", end="")
        print("b", end="")
        sys.stderr.write("err line\n")
        print("c")
        with in_call(ctx, "one") as one:
            sys.stdout.write("from one")
            with in_call(ctx, "two") as two:
                sys.stdout.write("from two\n")
            sys.stdout.write(" done\n")
        print()
        print("   ")
        sys.stdout.write("10%\r50%\r100%\n")
        sys.stdout.write("windows\r\n")
        sys.stdout.write("x\ny\nunfinished")
        sink.flush()
        sys.stdout.write("tail")
    sink.close()
    assert rows(store, ctx.exec_id) == [
        ("stderr", "WARNING", "err line", None, None),
        ("stdout", "INFO", "abc", None, None),
        ("stdout", "INFO", "from two", two.call_id, "two"),
        ("stdout", "INFO", "from one done", one.call_id, "one"),
        ("stdout", "INFO", "100%", None, None),
        ("stdout", "INFO", "windows", None, None),
        ("stdout", "INFO", "x", None, None),
        ("stdout", "INFO", "y", None, None),
        ("stdout", "INFO", "unfinished", None, None),
        ("stdout", "INFO", "tail", None, None),
    ]


def test_long_messages_are_truncated_with_a_marker(store: CountingStore, tmp_path: Path) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id, max_message=10)
    with running(ctx, sink):
        print("x" * 25)
        logging.getLogger("kitaru.test.user").warning("y" * 12)
        sys.stdout.write("z" * 30)  # an unfinished line longer than the limit is not held forever
        print("short")
    sink.close()
    assert messages(store, ctx.exec_id) == [
        "x" * 10 + "… [15 more characters truncated]",
        "y" * 10 + "… [2 more characters truncated]",
        "z" * 10 + "… [20 more characters truncated]",
        "short",
    ]


def test_records_past_the_limit_are_counted_and_reported_once(store: CountingStore, tmp_path: Path) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id, max_records=5)
    with running(ctx, sink):
        for i in range(12):
            print(f"line {i}")
    sink.close()
    logged = rows(store, ctx.exec_id)
    assert [m for _, _, m, _, _ in logged] == [f"line {i}" for i in range(5)] + [
        "… 7 log lines dropped (limit 5 records)"
    ]
    assert logged[-1][:2] == ("kitaru", "WARNING")


def test_records_are_stored_in_batches(store: CountingStore, tmp_path: Path) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id, batch=10, interval=3600)
    with running(ctx, sink):
        for i in range(25):
            print(f"line {i}")
        assert store.batches == [10, 10]
    sink.close()
    assert store.batches == [10, 10, 5]
    assert messages(store, ctx.exec_id) == [f"line {i}" for i in range(25)]
    sink.close()  # closing twice stores nothing more
    assert store.batches == [10, 10, 5]


def test_records_are_stored_after_the_interval(store: CountingStore, tmp_path: Path) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id, batch=1000, interval=0.05)
    with running(ctx, sink):
        print("first")
        assert store.batches == []
        time.sleep(0.1)
        sys.stdout.write("second\n")
        assert store.batches == [2]
        print("third")
        assert store.batches == [2]
    sink.close()
    assert store.batches == [2, 1]


def test_a_failing_store_never_breaks_user_code(
    store: CountingStore, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id, batch=2, interval=0)
    store.fail = True
    with running(ctx, sink):
        for i in range(6):
            print(f"line {i}")
        logging.getLogger("kitaru.test.user").warning("still fine")
    out, err = capfd.readouterr()
    assert out == "".join(f"line {i}\n" for i in range(6))
    notes = [line for line in err.splitlines() if "could not store captured logs" in line]
    assert len(notes) == 1 and ctx.exec_id in notes[0] and "database is locked" in notes[0]
    store.fail = False
    sink.close()
    assert messages(store, ctx.exec_id) == [f"line {i}" for i in range(6)] + ["still fine"]


def test_output_made_while_storing_is_not_captured_again(
    store: CountingStore, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id, batch=1)
    store.chatty = True
    with running(ctx, sink):
        print("user line")
    sink.close()
    assert messages(store, ctx.exec_id) == ["user line"]
    out, err = capfd.readouterr()
    assert "user line" in out and "store is writing" in out and "store stderr" in err


def test_threads_in_their_own_calls_keep_per_call_order(store: CountingStore, tmp_path: Path) -> None:
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id, batch=50, interval=0.001)
    scopes: dict[int, CallScope] = {}
    start = threading.Barrier(8)

    def work(n: int) -> None:
        with in_call(ctx, f"worker_{n}") as scope:
            scopes[n] = scope
            start.wait()
            for i in range(150):
                if i % 3 == 0:
                    logging.getLogger("kitaru.test.user").warning("w%d %d", n, i)
                else:
                    print(f"w{n}", i)

    with running(ctx, sink):
        threads = [threading.Thread(target=contextvars.copy_context().run, args=(work, n)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    sink.close()
    assert len(store.list_logs(ctx.exec_id)) == 8 * 150
    for n, scope in scopes.items():
        per_call = store.list_logs(ctx.exec_id, call_id=scope.call_id)
        assert [r.message for r in per_call] == [f"w{n} {i}" for i in range(150)]
        assert {r.invocation_id for r in per_call} == {f"worker_{n}"}
    assert len(store.batches) > 1


def test_install_twice_is_harmless_and_uninstall_restores(store: CountingStore, tmp_path: Path) -> None:
    before_out, before_err, before_handlers = sys.stdout, sys.stderr, list(logging.getLogger().handlers)
    root_level = logging.getLogger().level
    install()
    try:
        proxy_out, proxy_err = sys.stdout, sys.stderr
        install()
        assert (sys.stdout, sys.stderr) == (proxy_out, proxy_err)
        assert proxy_out is not before_out and proxy_err is not before_err
        assert len(logging.getLogger().handlers) == len(before_handlers) + 1
        assert logging.getLogger().level == root_level
        ctx = new_execution(store, tmp_path)
        sink = LogSink(store, ctx.exec_id)
        with running(ctx, sink):
            print("once")
            logging.getLogger("kitaru.test.user").warning("also once")
        sink.close()
        assert messages(store, ctx.exec_id) == ["once", "also once"]
    finally:
        uninstall()
    assert sys.stdout is before_out and sys.stderr is before_err
    assert logging.getLogger().handlers == before_handlers
    uninstall()  # again: nothing to undo
    assert sys.stdout is before_out


def test_proxies_behave_like_the_streams(capfd: pytest.CaptureFixture[str]) -> None:
    install()
    proxy: Any = sys.stdout
    original = proxy._original
    assert proxy.write("abc\n") == 4
    proxy.writelines(["d\n", "e\n"])
    proxy.flush()
    assert proxy.isatty() == original.isatty()
    assert proxy.fileno() == original.fileno()
    assert proxy.encoding == original.encoding
    assert proxy.buffer is original.buffer
    assert proxy.mode == original.mode
    assert capfd.readouterr().out == "abc\nd\ne\n"


def test_a_proxy_wrapped_by_other_code_does_not_capture_twice(
    store: CountingStore, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    install()
    proxy = sys.stdout  # other code wraps the proxy (as colour filters do)
    sys.stdout = SimpleNamespace(write=proxy.write, flush=proxy.flush)
    ctx = new_execution(store, tmp_path)
    sink = LogSink(store, ctx.exec_id)
    with running(ctx, sink):  # installs again: a new proxy in front of the wrapper
        print("once")
    sink.close()
    assert messages(store, ctx.exec_id) == ["once"]
    assert capfd.readouterr().out == "once\n"
