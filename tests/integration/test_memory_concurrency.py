"""Concurrent writers of one memory key, in threads and in processes, on SQLite and on
PostgreSQL: each write gets its own consecutive version and none is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._modes import another_home, mode_server
from tests._postgres import create_database

from kitaru import KitaruClient, memory

WRITERS = 4
WRITES = 15

_WRITER = textwrap.dedent(
    """
    import sys
    from kitaru import memory

    memory.configure(scope="race", scope_type="namespace")
    name = sys.argv[1]
    versions = [memory.set("counter", f"{name}:{n}").version for n in range(int(sys.argv[2]))]
    print(" ".join(map(str, versions)))
    """
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "server"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a fresh store: a SQLite file in a data directory, a PostgreSQL database,
    or a Kitaru server (tests/_modes.py)."""
    env = {"KITARU_HOME": str(tmp_path / "home")}
    if request.param == "server":
        with another_home(tmp_path / "home"), mode_server().serving(tmp_path / "server") as connection:
            env.update(connection)
            try:
                yield env
            finally:
                memory.configure()
        return
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        env["KITARU_STORE_URL"] = create_database(
            url, f"memory_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}"
        )
    with another_home(tmp_path / "home"):
        old = os.environ.get("KITARU_STORE_URL")
        if "KITARU_STORE_URL" in env:
            os.environ["KITARU_STORE_URL"] = env["KITARU_STORE_URL"]
        try:
            yield env
        finally:
            if old is None:
                os.environ.pop("KITARU_STORE_URL", None)
            else:
                os.environ["KITARU_STORE_URL"] = old
            memory.configure()


def _all_versions_once(written: list[int]) -> None:
    total = WRITERS * WRITES
    assert sorted(written) == list(range(1, total + 1))
    history = KitaruClient().memories.history("counter", scope="race")
    assert [e.version for e in history] == list(range(total, 0, -1))
    values = {KitaruClient().memories.value("counter", scope="race", version=v) for v in range(1, total + 1)}
    assert len(values) == total  # every write's own value is there


def test_writers_in_threads(store_env: dict[str, str]) -> None:
    memory.configure(scope="race", scope_type="namespace")
    written: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def writer(name: int) -> None:
        start.wait()
        for n in range(WRITES):
            version = memory.set("counter", f"{name}:{n}").version
            with lock:
                written.append(version)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _all_versions_once(written)


def test_writers_in_processes(store_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")} | store_env
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), f"w{i}", str(WRITES)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    written: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        written += [int(v) for v in out.split()]
    _all_versions_once(written)
