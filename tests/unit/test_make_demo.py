"""``make demo`` installs the package alone; ``make test`` installs the dev tools too."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _planned(target: str, venv: Path) -> str:
    """What ``make TARGET`` would run on a fresh checkout (``-n``: nothing runs; ``-B``: all due)."""
    done = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", target, f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_demo_installs_the_package_without_dev_tools(tmp_path: Path) -> None:
    plan = _planned("demo", tmp_path / "venv")
    installs = [line for line in plan.splitlines() if "pip install" in line]
    assert installs and all("[dev]" not in line and "--upgrade pip" not in line for line in installs), plan
    assert "examples/demo.py" in plan


def test_test_installs_the_dev_tools(tmp_path: Path) -> None:
    plan = _planned("test", tmp_path / "venv")
    assert any("pip install" in line and "[dev]" in line for line in plan.splitlines()), plan
