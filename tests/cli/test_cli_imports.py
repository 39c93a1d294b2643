"""The CLI costs nothing to `import kitaru`, and `kitaru --help` opens no store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_root_help_is_served_from_a_cache_derived_from_its_inputs(cli: Cli, tmp_path: Path) -> None:
    env = {**cli.env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("KITARU_NO_HELP_CACHE", None)
    env.pop("COLUMNS", None)

    def root_help(extra: dict[str, str]) -> tuple[str, list[str]]:
        code = "import sys\nfrom kitaru.cli import main\nassert main(['--help']) == 0\nsys.stdout.flush()"
        probe = (
            f"{code}\nimport json\nprint(json.dumps([m for m in ['cyclopts', 'rich'] if m in sys.modules]))"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env={**env, **extra}, check=True
        )
        *page, loaded = done.stdout.splitlines(keepends=True)
        return "".join(page), json.loads(loaded)

    fresh, loaded = root_help({})
    assert "cyclopts" in loaded and "Usage: kitaru COMMAND" in fresh
    cached, loaded = root_help({})
    assert (cached, loaded) == (fresh, [])
    assert len(list((tmp_path / "cache" / "kitaru").glob("root-help-*.txt"))) == 1
    # Another width is another page: rendered again, and kept beside the first.
    wide, loaded = root_help({"COLUMNS": "120"})
    assert "cyclopts" in loaded and wide != fresh
    assert len(list((tmp_path / "cache" / "kitaru").glob("root-help-*.txt"))) == 2
    # The cached page is what cyclopts renders.
    uncached, loaded = root_help({"KITARU_NO_HELP_CACHE": "1"})
    assert (uncached, "cyclopts" in loaded) == (fresh, True)
