"""The engine: execution semantics behind ``@flow`` and ``@checkpoint``.

Only :mod:`kitaru.runtime.context` owns context variables. The engine talks to
storage through :class:`kitaru.store.base.MetadataStore` and
:class:`kitaru.artifacts.base.ArtifactStore` only.
"""

from __future__ import annotations

from kitaru.runtime.context import current_execution_id

__all__ = ["_get_current_execution_id", "current_execution_id"]


def _get_current_execution_id() -> str | None:
    """Return the current execution id (kept for programs written for the original)."""
    return current_execution_id()
