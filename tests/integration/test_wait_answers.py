"""One validation for every way of answering a wait.

The same flow waits for a ``bool``, an ``int``, a ``str``, a pydantic model and a
``list[int]``; once it is answered at the runner's own terminal prompt (a real
pseudo-terminal), once with ``kitaru executions input --value`` (and ``-i``) from
another process. Each typed text stands for a value; each side accepts or
rejects the same values, with the same message, and records the same answers.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tests._helpers import wait_until
from tests._modes import another_home
from tests._scripts import env_for

from kitaru import KitaruClient

pytestmark = pytest.mark.both_modes

SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    from pydantic import BaseModel

    import kitaru


    class Review(BaseModel):
        approved: bool
        note: str = ""


    @kitaru.flow
    def asks() -> str:
        flag = kitaru.wait(schema=bool, name="flag", timeout=300)
        count = kitaru.wait(schema=int, name="count", timeout=300)
        text = kitaru.wait(schema=str, name="text", timeout=300)
        review = kitaru.wait(schema=Review, name="review", timeout=300)
        numbers = kitaru.wait(schema=list[int], name="numbers", timeout=300)
        types = [type(a).__name__ for a in (flag, count, text, review, numbers)]
        return json.dumps([types, flag, count, text, review.model_dump(), numbers])


    if __name__ == "__main__":
        handle = asks.run()
        print("exec", handle.exec_id, flush=True)
        print("result", handle.wait(timeout=300), flush=True)
    """
)

# (wait, text typed at a prompt, the same value as JSON for --value, accepted?)
CASES: list[tuple[str, str, str, bool]] = [
    ("flag", "yes", '"yes"', False),
    ("flag", "1", "1", False),
    ("flag", "true", "true", True),
    ("count", "lots", '"lots"', False),
    ("count", "2.5", "2.5", False),
    ("count", "true", "true", False),
    ("count", "21", "21", True),
    ("text", "hello world", '"hello world"', True),
    ("review", '{"approved": "maybe"}', '{"approved": "maybe"}', False),
    ("review", '{"note": "x"}', '{"note": "x"}', False),
    ("review", '{"approved": true, "note": "ok"}', '{"approved": true, "note": "ok"}', True),
    ("numbers", '[1, "x"]', '[1, "x"]', False),
    ("numbers", "3", "3", False),
    ("numbers", "[1, 2, 3]", "[1, 2, 3]", True),
]
EXPECTED = [
    ["bool", "int", "str", "Review", "list"],
    True,
    21,
    "hello world",
    {"approved": True, "note": "ok"},
    [1, 2, 3],
]


def kitaru_command() -> list[str]:
    script = Path(sys.executable).with_name("kitaru")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kitaru"]


class Terminal:
    """The primary side of a pseudo-terminal: read what the child printed, type answers."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = ""
        self.pos = 0

    def expect(self, needle: str, timeout: float = 60.0) -> str:
        """Wait until ``needle`` appears after what was consumed; return the text up to it."""
        deadline = time.monotonic() + timeout
        while needle not in self.seen[self.pos :]:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {needle!r}; output so far: {self.seen[self.pos :]!r}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"the terminal closed before {needle!r}: {self.seen[self.pos :]!r}"
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")
        end = self.seen.index(needle, self.pos) + len(needle)
        text, self.pos = self.seen[self.pos : end], end
        return text

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode() + b"\n")


def _env(home: Path) -> dict[str, str]:
    return env_for(home)


def _rejection(message: str) -> str:
    """The part of a validation message that names the problem (identical on every surface)."""
    assert "does not match its schema:" in message, message
    return message.split("does not match its schema:", 1)[1].split(". Expected:", 1)[0].strip()


def _answer_at_the_terminal(tmp_path: Path) -> tuple[dict[tuple[str, str], str | None], Any]:
    """Type every case at the runner's prompt; return each case's rejection (None: accepted)."""
    (tmp_path / "ask.py").write_text(SCRIPT)
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "ask.py"],
        cwd=tmp_path,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=_env(tmp_path / "home"),
    )
    os.close(secondary)
    outcome: dict[tuple[str, str], str | None] = {}
    terminal = Terminal(primary)
    try:
        current = None
        for wait, text, _, _ in CASES:
            if wait != current:
                terminal.expect(f"waits for input at {wait!r}")
                current = wait
            terminal.expect("> ")
            terminal.type(text)
            # Typed answers are echoed; what follows is either a complaint or the next step.
            if wait == CASES[-1][0] and text == CASES[-1][1]:
                reply = terminal.expect("result ")
            else:
                reply = terminal.expect("\n[kitaru]" if _accepted_here(wait, text) else "invalid:")
            outcome[(wait, text)] = None if not reply.endswith("invalid:") else _read_rejection(terminal)
        result = json.loads(terminal.expect("\n").strip())
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        os.close(primary)
    return outcome, result


def _accepted_here(wait: str, text: str) -> bool:
    return next(ok for w, t, _, ok in CASES if (w, t) == (wait, text))


def _read_rejection(terminal: Terminal) -> str:
    return _rejection(terminal.expect("still waits.\n"))


def _answer_with_the_cli(tmp_path: Path) -> tuple[dict[tuple[str, str], str | None], Any, str]:
    """Answer every case with `kitaru executions input --value` while the runner polls."""
    work = tmp_path / "cli"
    work.mkdir()
    (work / "ask.py").write_text(SCRIPT)
    home = work / "home"
    env = _env(home)
    runner = subprocess.Popen(
        [sys.executable, "ask.py"],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outcome: dict[tuple[str, str], str | None] = {}
    interactive = ""
    try:
        assert runner.stdout is not None
        exec_id = runner.stdout.readline().split()[1]

        def pending(name: str) -> bool:
            with another_home(home):
                waits = KitaruClient().executions.pending_waits(exec_id)
            return [w.name for w in waits] == [name]

        for wait, text, as_json, _ in CASES:
            wait_until(lambda name=wait: pending(name), timeout=60)
            if (wait, text) == ("flag", "yes"):  # -i reads typed text as the runner's prompt does
                asked = subprocess.run(
                    [*kitaru_command(), "executions", "input", exec_id, "-i"],
                    cwd=work,
                    env=env,
                    input=f"c\n{text}\nq\n",
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert asked.returncode == 0, asked.stderr
                interactive = _rejection(asked.stderr)
            done = subprocess.run(
                [*kitaru_command(), "executions", "input", exec_id, "--value", as_json, "-o", "json"],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode == 0:
                outcome[(wait, text)] = None
            else:
                error = json.loads(done.stderr)["error"]
                assert error["type"] == "KitaruWaitValidationError", done.stderr
                outcome[(wait, text)] = _rejection(error["message"])
        out, err = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=60)
    assert runner.returncode == 0, err
    result = json.loads(out.split("result ", 1)[1].strip())
    return outcome, result, interactive


def test_every_way_of_answering_accepts_and_rejects_the_same_values(tmp_path: Path) -> None:
    at_terminal, terminal_result = _answer_at_the_terminal(tmp_path)
    with_cli, cli_result, interactive = _answer_with_the_cli(tmp_path)
    expected = {(w, t): ok for w, t, _, ok in CASES}
    assert {case: reason is None for case, reason in at_terminal.items()} == expected
    assert at_terminal == with_cli  # the same decisions, with the same reasons
    assert at_terminal[("flag", "yes")] == "'yes' is not of type 'boolean'"
    assert interactive == at_terminal[("flag", "yes")]
    assert terminal_result == cli_result == EXPECTED
