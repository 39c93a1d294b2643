"""Model providers: resolve a model, authenticate, call it through its official SDK, price it.

Nothing here records anything or knows of executions: ``kitaru.llm()`` records
calls made in flows, and client-side work (memory compaction) calls
:func:`complete_text` directly. Each SDK is imported in one module, on first use,
behind an ``ImportError`` that names the extra (``pip install 'kitaru[llm]'``).

Example:
    >>> from kitaru.providers import complete_text
    >>> complete_text("Say hi", model="openai/gpt-4o-mini")  # doctest: +SKIP
    'Hi!'
"""

from __future__ import annotations

from kitaru.providers._call import Completion, complete, complete_text
from kitaru.providers._resolve import Credentials, ResolvedModel, credentials_for, resolve
from kitaru.providers._settings import MOCK_ENV

__all__ = [
    "MOCK_ENV",
    "Completion",
    "Credentials",
    "ResolvedModel",
    "complete",
    "complete_text",
    "credentials_for",
    "resolve",
]
