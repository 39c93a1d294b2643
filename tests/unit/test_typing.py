"""Type checkers see the decorated functions' signatures through ``@flow`` and ``@checkpoint``.

``tests/typecheck/user_api.py`` is a user's program with ``assert_type`` checks and
calls that must be rejected (marked ``type: ignore[...]``; the project's mypy
configuration has ``warn_unused_ignores``, so a call that is accepted fails).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
USER_API = ROOT / "tests" / "typecheck" / "user_api.py"


@pytest.mark.timeout(300)
def test_user_api_type_checks_with_mypy_strict() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--strict",
            "--warn-unused-ignores",
            str(USER_API),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 1 source file" in result.stdout
