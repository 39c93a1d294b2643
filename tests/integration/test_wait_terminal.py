"""wait() prompts in the terminal when stdin and stdout are TTYs (a real pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tests._modes import another_home

from kitaru import KitaruClient

pytestmark = pytest.mark.both_modes

SCRIPT = textwrap.dedent(
    """
    import kitaru

    @kitaru.checkpoint
    def double(x: int) -> int:
        return 2 * x

    @kitaru.flow
    def asks() -> int:
        n = kitaru.wait(schema=int, question="How many?", timeout=30)
        return double(n)

    if __name__ == "__main__":
        print("result", asks.run().wait(timeout=60), flush=True)
    """
)


def _read_until(fd: int, needle: str, seen: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in "".join(seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"never saw {needle!r}; output so far: {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            seen.append(chunk.decode(errors="replace"))


def test_wait_prompts_in_a_terminal_and_reasks_on_invalid_input(tmp_path: Path) -> None:
    script = tmp_path / "ask.py"
    script.write_text(SCRIPT)
    primary, secondary = pty.openpty()
    env = {**os.environ, "KITARU_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdin=secondary, stdout=secondary, stderr=secondary, env=env
    )
    os.close(secondary)
    seen: list[str] = []
    try:
        _read_until(primary, "> ", seen)
        text = "".join(seen)
        assert "How many?" in text and '"type": "integer"' in text
        os.write(primary, b"lots\n")
        _read_until(primary, "invalid", seen)
        os.write(primary, b"21\n")
        _read_until(primary, "result 42", seen)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    with another_home(tmp_path / "home"):
        (execution,) = KitaruClient().executions.list()
        assert KitaruClient().executions.logs(execution.exec_id) == []  # the prompt is not the flow's output
