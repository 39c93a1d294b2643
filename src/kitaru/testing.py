"""Helpers for testing code that uses Kitaru: an isolated data directory per test.

Example:
    >>> from kitaru.testing import isolated_home
    >>> with isolated_home("/tmp/kitaru-test"):  # doctest: +SKIP
    ...     handle = my_flow.run()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kitaru._connect import reset_default_stores
from kitaru.config import reset_config

__all__ = ["isolated_home"]

_ELSEWHERE = (
    "KITARU_STORE_URL",
    "KITARU_ARTIFACTS_DIR",
    "KITARU_STACK",
    "KITARU_SERVER_URL",
    "KITARU_API_KEY",
)


@contextmanager
def isolated_home(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Point Kitaru at a fresh data directory for the duration of the block.

    Sets ``KITARU_HOME``, unsets the variables that point elsewhere (another
    store, stack or server), forgets ``kitaru.configure()`` settings and opened
    stores on entry and exit, and restores the previous environment.
    """
    home = Path(path)
    home.mkdir(parents=True, exist_ok=True)
    saved = {k: os.environ.get(k) for k in ("KITARU_HOME", *_ELSEWHERE)}
    os.environ["KITARU_HOME"] = str(home)
    for key in _ELSEWHERE:
        os.environ.pop(key, None)
    reset_default_stores()
    reset_config()
    try:
        yield home
    finally:
        reset_default_stores()
        reset_config()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
