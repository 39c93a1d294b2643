"""The CLI costs nothing to `import kitaru`, and `kitaru --help` opens no store."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.conftest import Cli


def _loaded(code: str, modules: list[str], env: dict[str, str]) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_import_kitaru_loads_no_cli(cli: Cli) -> None:
    assert (
        _loaded("import kitaru", ["kitaru.cli", "cyclopts", "rich", "cryptography", "tomllib"], cli.env) == []
    )


def test_help_loads_no_store_or_client(cli: Cli) -> None:
    code = "from kitaru.cli import main\nassert main(['executions', '--help']) == 0"
    assert _loaded(code, ["sqlalchemy", "kitaru.client", "kitaru.cli._executions"], cli.env) == []
