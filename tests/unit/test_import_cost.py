"""`import kitaru` loads no database, HTTP, validation or LLM library (SPEC: cheap import)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "sqlalchemy",
    "alembic",
    "pydantic",
    "numpy",
    "httpx",
    "fastapi",
    "psycopg",
    "asyncio",
    "openai",
    "mcp",
]


def test_import_kitaru_loads_nothing_heavy() -> None:
    code = f"import json, sys, kitaru; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_client_is_loaded_on_first_use() -> None:
    code = (
        "import sys, kitaru; before = 'kitaru.client' in sys.modules; kitaru.KitaruClient; "
        "print(before, 'kitaru.client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
