"""``python -m kitaru``: the same as the ``kitaru`` command."""

from __future__ import annotations

__all__: list[str] = []

if __name__ == "__main__":
    from kitaru.cli import main

    raise SystemExit(main())
