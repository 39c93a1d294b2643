"""Flow scripts and the ``kitaru`` command run as real processes, on one store.

For the tests where one process starts an execution (``python script.py``) and
others continue it (``kitaru executions input|resume|retry``): every process
is a new interpreter that reaches the flow's code only through what the store
records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def kitaru_command() -> list[str]:
    """The installed ``kitaru`` console script (``python -m kitaru`` without one)."""
    script = Path(sys.executable).with_name("kitaru")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kitaru"]


#: Kept by :func:`env_for`: in the test mode ``server`` they connect the process to the test's server.
SERVER_ENV = ("KITARU_SERVER_URL", "KITARU_API_KEY")


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """This environment without any KITARU_* setting but the server connection (tests/_modes.py)
    and ``KITARU_ALLOW_PICKLE``, with ``KITARU_HOME=home`` and ``extra``."""
    kept = ("KITARU_TEST_NETGUARD", "KITARU_ALLOW_PICKLE", *SERVER_ENV)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_") or k in kept}
    env["KITARU_HOME"] = str(home)
    return {**env, **extra}


@dataclass
class Ran:
    """A finished process: its exit code and output."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error(self) -> dict[str, Any]:
        return json.loads(self.err)["error"]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"{' '.join(self.args)} -> {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> Ran:
    """Run a command to its end."""
    done = subprocess.run(
        args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )
    return Ran(tuple(args), done.returncode, done.stdout, done.stderr)


def kitaru(cwd: Path, home: Path, *args: str, **extra_env: str) -> Ran:
    """``kitaru ARGS`` in ``cwd`` on the store in ``home``."""
    return run([*kitaru_command(), *args], cwd=cwd, env=env_for(home, **extra_env))


def run_script(script: Path, home: Path, *args: str, **extra_env: str) -> Ran:
    """Run ``python script ARGS`` in its directory until it exits."""
    return run([sys.executable, script.name, *args], cwd=script.parent, env=env_for(home, **extra_env))
