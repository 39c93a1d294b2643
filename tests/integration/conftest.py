from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru.testing import isolated_home


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path) -> Iterator[Path]:
    """Every test gets its own data directory (a fresh SQLite file and artifact dir)."""
    with isolated_home(tmp_path / "kitaru-home") as home:
        yield home
