"""``python -m kitaru``: the same as the ``kitaru`` command.

The CLI is reached through ``importlib`` so that no module imports
``kitaru.cli`` (an import-linter contract keeps it that way).
"""

from __future__ import annotations

import importlib

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(importlib.import_module("kitaru.cli").main())
