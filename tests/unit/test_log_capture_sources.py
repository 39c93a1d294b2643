"""Log capture beyond ``print``: file-descriptor writes, subprocesses, threads, stream handlers.

Each line is stored once, for the checkpoint call that made it, and still
reaches the terminal (here: pytest's capture of file descriptors 1 and 2).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from tests._modes import mode_server

from kitaru import KitaruClient, checkpoint, flow
from kitaru.runtime.logs import uninstall

pytestmark = pytest.mark.both_modes


@pytest.fixture(autouse=True)
def captured() -> Iterator[None]:
    yield
    uninstall()


def logged(exec_id: str) -> list[tuple[str | None, str, str]]:
    """(invocation id, source, message) of each stored line, in order."""
    return [(e.invocation_id, e.source, e.message) for e in KitaruClient().executions.logs(exec_id)]


def same_file(fd: int, stat: os.stat_result) -> bool:
    now = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (stat.st_dev, stat.st_ino)


@checkpoint
def shell_out() -> int:
    subprocess.run(["echo", "from echo"], check=True)
    os.write(1, b"raw stdout\n")
    os.write(2, b"raw stderr\n")
    print("python line")
    return 1


@flow
def descriptors() -> int:
    os.write(1, b"body raw\n")
    print("body python")
    return shell_out()


def test_descriptor_writes_and_subprocesses_are_stored_once_for_their_call(
    capfd: pytest.CaptureFixture[str],
) -> None:
    out_before, err_before = os.fstat(1), os.fstat(2)
    handle = descriptors.run()
    assert handle.wait(timeout=30) == 1
    lines = logged(handle.exec_id)
    assert [line for line in lines if line[1] == "stdout"] == [
        (None, "stdout", "body raw"),
        (None, "stdout", "body python"),
        ("shell_out", "stdout", "from echo"),
        ("shell_out", "stdout", "raw stdout"),
        ("shell_out", "stdout", "python line"),
    ]
    assert [line for line in lines if line[1] == "stderr"] == [("shell_out", "stderr", "raw stderr")]
    raw_err, python_line = ("shell_out", "stderr", "raw stderr"), ("shell_out", "stdout", "python line")
    assert lines.index(raw_err) < lines.index(python_line)  # written before it, recorded before it
    out, err = capfd.readouterr()  # the terminal still shows everything, once
    for line in ("body raw", "body python", "from echo", "raw stdout", "python line"):
        assert out.count(line + "\n") == 1, out
    assert err.count("raw stderr\n") == 1, err
    assert same_file(1, out_before) and same_file(2, err_before)  # the descriptors are back


@checkpoint
def spawn_threads() -> int:
    def inner() -> None:
        print("from a grandchild thread")

    def work() -> None:
        print("from a thread")
        sys.stderr.write("thread stderr\n")
        logging.getLogger("kitaru.test.thread").warning("thread warning")
        nested = threading.Thread(target=inner)
        nested.start()
        nested.join()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return 2


@checkpoint
def quiet() -> int:
    return 3


@flow
def threaded() -> int:
    return spawn_threads() + quiet()


def test_threads_started_in_a_checkpoint_are_stored_once_for_that_call(
    capfd: pytest.CaptureFixture[str],
) -> None:
    handle = threaded.run()
    assert handle.wait(timeout=30) == 5
    assert logged(handle.exec_id) == [
        ("spawn_threads", "stdout", "from a thread"),
        ("spawn_threads", "stderr", "thread stderr"),
        ("spawn_threads", "logging", "thread warning"),
        ("spawn_threads", "stdout", "from a grandchild thread"),
    ]
    out, _ = capfd.readouterr()
    assert out.count("from a thread\n") == 1


def test_output_of_threads_outside_any_execution_is_not_stored() -> None:
    started, release = threading.Event(), threading.Event()

    @checkpoint
    def hold() -> int:
        started.set()
        release.wait(30)
        return 1

    @flow
    def holding() -> int:
        return hold()

    handle = holding.run()
    started.wait(30)
    outsider = threading.Thread(target=print, args=("not part of the execution",))
    outsider.start()
    outsider.join()
    print("main thread, not part of the execution")
    release.set()
    handle.wait(timeout=30)
    assert logged(handle.exec_id) == []


@checkpoint
def with_handler() -> int:
    log = logging.getLogger("kitaru.test.handler")
    handler = logging.StreamHandler()  # writes to sys.stderr, which capture already sees
    handler.setFormatter(logging.Formatter("HANDLER %(levelname)s %(message)s"))
    log.addHandler(handler)
    try:
        log.warning("added inside")
        quiet_log = logging.getLogger("kitaru.test.handler.alone")
        quiet_log.propagate = False  # the record does not reach the capture: the stream text is kept
        quiet_log.addHandler(handler)
        quiet_log.warning("not propagated")
    finally:
        log.removeHandler(handler)
        logging.getLogger("kitaru.test.handler.alone").removeHandler(handler)
    return 4


@flow
def handled() -> int:
    return with_handler()


def test_a_stream_handler_created_during_capture_is_stored_once(capfd: pytest.CaptureFixture[str]) -> None:
    handle = handled.run()
    assert handle.wait(timeout=30) == 4
    assert logged(handle.exec_id) == [
        ("with_handler", "logging", "added inside"),
        ("with_handler", "stderr", "HANDLER WARNING not propagated"),
    ]
    assert capfd.readouterr().err.count("HANDLER WARNING added inside\n") == 1


def test_a_stream_handler_on_the_original_stream_is_stored_once(capfd: pytest.CaptureFixture[str]) -> None:
    uninstall()
    original: Any = sys.__stderr__  # file descriptor 2, as outside a test runner
    handler = logging.StreamHandler(original)  # as logging.basicConfig() made before any flow ran
    handler.setFormatter(logging.Formatter("EARLY %(message)s"))
    log = logging.getLogger("kitaru.test.early")
    log.addHandler(handler)

    @checkpoint
    def uses_early() -> int:
        log.warning("early handler")
        return 5

    @flow
    def early() -> int:
        return uses_early()

    try:
        handle = early.run()
        assert handle.wait(timeout=30) == 5
    finally:
        log.removeHandler(handler)
    assert logged(handle.exec_id) == [("uses_early", "logging", "early handler")]
    assert handler.stream is original  # given back
    assert capfd.readouterr().err.count("EARLY early handler\n") == 1


SCRIPT = """
import logging, os, subprocess, sys, threading, warnings
import kitaru
from kitaru import checkpoint, flow

logging.basicConfig(format="BASIC %(message)s")  # a handler on the real stderr, made before any flow

@checkpoint
def work() -> int:
    print("print 1", flush=True)
    subprocess.run(["echo", "echo 2"], check=True)
    os.write(1, b"os 3\\n")
    print("print 4")
    sys.stderr.write("err 5\\n")
    logging.getLogger("app").warning("log 6")
    thread = threading.Thread(target=print, args=("thread 7",))
    thread.start()
    thread.join()
    if hasattr(os, "fork"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
            pid = os.fork()
        if pid == 0:
            print("child 8", flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
    else:
        print("child 8")
    return 1

@flow
def script_flow() -> int:
    return work()

print("before", flush=True)
handle = script_flow.run()
handle.wait()
print(handle.exec_id)
print("isatty", sys.stdout.isatty())
"""


def test_a_script_shows_and_stores_each_line_once_in_order(tmp_path: Any) -> None:
    (tmp_path / "script.py").write_text(SCRIPT)
    # The script runs on the test's own stores (its data directory, or the server of the mode).
    env = {k: v for k, v in os.environ.items() if k not in ("KITARU_STORE_URL", "KITARU_ARTIFACTS_DIR")}
    done = subprocess.run(
        [sys.executable, "script.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[:7] == ["before", "print 1", "echo 2", "os 3", "print 4", "thread 7", "child 8"]
    assert out[8:] == ["isatty False"]
    assert done.stderr.splitlines() == ["err 5", "BASIC log 6"]
    stored = logged(out[7])
    assert stored == [
        ("work", "stdout", "print 1"),
        ("work", "stdout", "echo 2"),
        ("work", "stdout", "os 3"),
        ("work", "stdout", "print 4"),
        ("work", "stderr", "err 5"),
        ("work", "logging", "log 6"),
        ("work", "stdout", "thread 7"),
        ("work", "stdout", "child 8"),
    ]


def test_with_two_executions_descriptor_output_goes_to_the_one_running_call() -> None:
    waiting, release = threading.Event(), threading.Event()

    @flow
    def idle() -> int:
        waiting.set()
        release.wait(30)  # in its flow body, not in a checkpoint
        return 0

    @checkpoint
    def loud() -> int:
        os.write(1, b"loud raw\n")
        subprocess.run(["echo", "loud echo"], check=True)
        return 1

    @flow
    def busy() -> int:
        return loud()

    first = idle.run()
    waiting.wait(30)
    second = busy.run()
    assert second.wait(timeout=30) == 1
    release.set()
    assert first.wait(timeout=30) == 0
    assert logged(second.exec_id) == [("loud", "stdout", "loud raw"), ("loud", "stdout", "loud echo")]
    assert logged(first.exec_id) == []


@checkpoint
def forks() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
        pid = os.fork()
    if pid == 0:
        try:
            os.write(1, b"raw from the child\n")
            for i in range(250):  # more than a batch: a copy of the parent's sink would store them
                print(f"child line {i}")  # (pytest's buffer here, not descriptor 1: see the script test)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return 6


@flow
def forking() -> int:
    return forks()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_is_recorded_once_by_its_parent() -> None:
    handle = forking.run()
    assert handle.wait(timeout=30) == 6
    assert logged(handle.exec_id) == [("forks", "stdout", "raw from the child")]


RACE = """
import sys
from kitaru import KitaruClient, flow

@flow
def quick() -> int:
    return 1

saved = sys.stdout  # kept before capture was installed, as a command line's output object is
ids = []
for i in range(150):
    handle = quick.run()
    print("main thread line", i)  # races with the run starting capture in its own thread
    print("saved stream line", i, file=saved)
    handle.wait()
    ids.append(handle.exec_id)
client = KitaruClient()
stored = [entry.message for exec_id in ids for entry in client.executions.logs(exec_id)]
print("stored", len(stored), stored[:3], file=sys.stderr)
"""


def test_lines_of_the_main_thread_are_never_stored_while_a_run_starts(tmp_path: Any) -> None:
    (tmp_path / "race.py").write_text(RACE)
    # The script runs on the test's own stores (its data directory, or the server of the mode).
    env = {k: v for k, v in os.environ.items() if k not in ("KITARU_STORE_URL", "KITARU_ARTIFACTS_DIR")}
    done = subprocess.run(
        [sys.executable, "race.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = [line for i in range(150) for line in (f"main thread line {i}", f"saved stream line {i}")]
    assert done.stdout.splitlines() == lines
    assert "stored 0 []" in done.stderr, done.stderr


@checkpoint
def floods() -> int:
    code = "import sys\nfor i in range(5000): sys.stdout.write(f'{i:05d} ' + 'x' * 200 + '\\n')"
    subprocess.run([sys.executable, "-c", code], check=True)  # 1 MB, more than a pipe holds at first
    return 7


@flow
def flooding() -> int:
    return floods()


def test_much_descriptor_output_is_stored_and_shown_whole(capfd: pytest.CaptureFixture[str]) -> None:
    handle = flooding.run()
    assert handle.wait(timeout=60) == 7
    lines = logged(handle.exec_id)
    assert [m for _, _, m in lines] == [f"{i:05d} " + "x" * 200 for i in range(5000)]
    assert {(inv, source) for inv, source, _ in lines} == {("floods", "stdout")}
    assert capfd.readouterr().out.count("x" * 200 + "\n") == 5000


def test_descriptor_output_is_stored_whole_when_the_store_answers_slowly(store_mode: str) -> None:
    """Routing the output waits for the store's writes: through a server that takes 60 ms per
    write of logs, the 25 writes of the flood take longer than a call's end waits for a reader
    that makes no progress, and still every line is stored, as the checkpoint's."""
    server = mode_server()
    if store_mode == "server":
        server.delays["/api/v1/logs"] = 0.06
    try:
        handle = flooding.run()
        assert handle.wait(timeout=60) == 7
    finally:
        server.delays.clear()
    lines = logged(handle.exec_id)
    assert [m for _, _, m in lines] == [f"{i:05d} " + "x" * 200 for i in range(5000)]
    assert {(inv, source) for inv, source, _ in lines} == {("floods", "stdout")}
