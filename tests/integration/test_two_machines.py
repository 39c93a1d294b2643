"""Two "machines" that share only a Kitaru server: two processes with their own data
directories. A flow runs in one and waits; the other loads its 1 MiB artifact and answers
the wait (with the ``kitaru`` CLI); the first goes on and completes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._helpers import wait_until
from tests._server import running_server
from tests.cli.conftest import kitaru_command

from kitaru._types import ExecutionStatus
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.server import issue_api_key, store_api_keys
from kitaru.store.sql import SqlStore

MACHINE_A = textwrap.dedent(
    """
    import sys
    import kitaru
    from kitaru import checkpoint, flow

    BLOB = bytes(range(256)) * 4096  # 1 MiB


    @checkpoint
    def produce() -> int:
        kitaru.save("blob", BLOB)
        return 10


    @checkpoint
    def finish(base: int, answer: int) -> int:
        return base + answer


    @flow(cache=False)
    def asks() -> int:
        base = produce()
        answer = kitaru.wait(schema=int, question="How many more?", timeout=120)
        return finish(base, answer)


    if __name__ == "__main__":
        handle = asks.run()
        print(handle.exec_id, flush=True)
        print(handle.wait(timeout=120), flush=True)
    """
)

MACHINE_B_LOAD = textwrap.dedent(
    """
    import sys
    from kitaru import KitaruClient

    (blob,) = KitaruClient().artifacts.list(sys.argv[1], name="blob")
    value = blob.load()
    assert value == bytes(range(256)) * 4096, len(value)
    print(len(value))
    """
)


def _machine(tmp_path: Path, name: str, url: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env.update(KITARU_HOME=str(tmp_path / name), KITARU_SERVER_URL=url, KITARU_API_KEY=token)
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, SqlStore]]:
    backing = SqlStore.open_sqlite(tmp_path / "server.db")
    token, _ = issue_api_key(backing, "team")
    with running_server(
        backing, LocalArtifactStore(tmp_path / "server-blobs"), auth=store_api_keys(backing)
    ) as url:
        yield url, token, backing
    backing.close()


def test_a_wait_is_answered_and_an_artifact_loaded_from_another_machine(
    server: tuple[str, str, SqlStore], tmp_path: Path
) -> None:
    url, token, backing = server
    (tmp_path / "a").mkdir()
    script = tmp_path / "a" / "agent.py"
    script.write_text(MACHINE_A)
    machine_a = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path / "a",
        env=_machine(tmp_path, "home-a", url, token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert machine_a.stdout is not None
        exec_id = machine_a.stdout.readline().strip()
        assert exec_id, machine_a.stderr.read() if machine_a.stderr else ""
        wait_until(lambda: backing.list_pending_waits(exec_id), timeout=60)
        assert backing.get_execution(exec_id).status is ExecutionStatus.WAITING

        machine_b = _machine(tmp_path, "home-b", url, token)
        (tmp_path / "b").mkdir()
        loaded = subprocess.run(
            [sys.executable, "-c", MACHINE_B_LOAD, exec_id],
            cwd=tmp_path / "b", env=machine_b, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert loaded.returncode == 0, loaded.stderr
        assert loaded.stdout.strip() == str(1 << 20)
        answered = subprocess.run(
            [*kitaru_command(), "executions", "input", exec_id, "--value", "5", "-o", "json"],
            cwd=tmp_path / "b", env=machine_b, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert answered.returncode == 0, answered.stderr
        assert json.loads(answered.stdout)["command"] == "executions.input"

        out, err = machine_a.communicate(timeout=120)
        assert machine_a.returncode == 0, err
        assert out.strip() == "15"
    finally:
        if machine_a.poll() is None:
            machine_a.kill()
            machine_a.wait()
    assert backing.get_execution(exec_id).status is ExecutionStatus.COMPLETED
    assert not (tmp_path / "home-a" / "kitaru.db").exists()
    assert not (tmp_path / "home-b" / "kitaru.db").exists()
