"""The CLI as users run it: the installed ``kitaru`` command in a subprocess, on a real store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests._modes import mode_server, modes_to_run
from tests._scripts import Ran

FLOWS = Path(__file__).with_name("flows_for_cli.py")


def kitaru_command() -> list[str]:
    script = Path(sys.executable).with_name("kitaru")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kitaru"]


class Result(Ran):
    """A finished ``kitaru`` command (its args are the command's, without ``kitaru``)."""

    def __repr__(self) -> str:
        return f"kitaru {super().__repr__()}"


_SEED = """
import json, sys
import flows
from kitaru import KitaruClient

client = KitaruClient()
ids = []
for name, kwargs in json.loads(sys.argv[1]):
    handle = getattr(flows, name).run(**kwargs)
    client.executions.wait_for(handle.exec_id, timeout=30)
    ids.append(handle.exec_id)
print(json.dumps(ids))
"""
_PYCACHE = Path(tempfile.gettempdir()) / f"kitaru-cli-tests-pycache-{os.getuid()}"


class Cli:
    """Runs ``kitaru`` in a workspace directory with its own data directory."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.home = workspace / "home"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
        self.env["KITARU_HOME"] = str(self.home)
        self.env["COLUMNS"] = "200"
        # Each command is a new interpreter: let them share compiled bytecode (outside the tree).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)

    def __call__(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> Result:
        done = subprocess.run(
            [*kitaru_command(), *args],
            cwd=self.workspace,
            env={**self.env, **(env or {})},
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(args, done.returncode, done.stdout, done.stderr)

    def many(self, *commands: tuple[str, ...]) -> list[Result]:
        """Run independent commands concurrently (they only read or touch separate records)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda c: self(*c), commands))

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*kitaru_command(), *args],
            cwd=self.workspace,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def seed(self, *calls: tuple[str, dict[str, Any]]) -> list[str]:
        """Start flows of flows.py with ``python`` (one process for all, in order) and return
        their exec ids once each has ended or waits for input with its runner gone."""
        done = subprocess.run(
            [sys.executable, "-c", _SEED, json.dumps(calls)],
            cwd=self.workspace,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]

    def started(self, *args: str) -> str:
        """``kitaru run ... -o json`` and return the new exec id (exit 1: the execution failed)."""
        result = self("run", *args, "-o", "json")
        assert result.code in (0, 1) and result.out, result
        return str(result.json["item"]["exec_id"])


def make_workspace(path: Path) -> Cli:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(FLOWS, path / "flows.py")
    return Cli(path)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One workspace (flows.py + data directory) shared by the tests of a module."""
    return make_workspace(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module", params=modes_to_run())
def cli_in_both_modes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cli]:
    """A workspace shared by the tests of a module, its commands run on the data directory's
    store or connected to a Kitaru server (tests/_modes.py); a module opts in by defining
    ``cli`` as this fixture."""
    workspace = make_workspace(tmp_path_factory.mktemp("cli"))
    if request.param == "local":
        yield workspace
        return
    with mode_server().serving(workspace.workspace / "server", environ=False) as connection:
        workspace.env.update(connection)
        yield workspace
    assert not (workspace.home / "kitaru.db").exists(), "a command stored something in the data directory"
