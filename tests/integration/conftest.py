from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_home(kitaru_home: Path) -> Path:
    """Every test gets its own data directory (tests/conftest.py: ``kitaru_home``)."""
    return kitaru_home
