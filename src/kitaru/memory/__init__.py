"""Durable, versioned key/value memory for agents.

Every ``set`` writes a new version of a key in a scope (``namespace``, ``flow`` or
``execution`` plus a scope name); ``delete`` writes a tombstone version; ``get``
reads the newest version (or a given one), ``list`` the newest live version of
each key, ``history`` every version, newest first.

In a flow body the default scope is the flow's own (by flow name) and every
operation is journaled with the execution at a stable position (the n-th ``set``
of a key, the n-th ``get`` of it, ...): a resumed execution does not write a
journaled version again and its journaled reads return what they read before; a
replay returns, for the operations made before its frontier, what the source
execution wrote and read, and makes the later ones for real. Outside a flow a
scope must be configured first. Inside a checkpoint memory is refused
(a replay may skip the checkpoint, and its memory effects would be lost).

Example:
    >>> from kitaru import memory
    >>> memory.configure(scope="repo-notes")  # doctest: +SKIP
    >>> memory.set("conventions/tests", "run the targeted tests first")  # doctest: +SKIP
    >>> memory.get("conventions/tests")  # doctest: +SKIP
    'run the targeted tests first'
"""

from __future__ import annotations

from kitaru.memory._ops import delete, get, history, list, set
from kitaru.memory._scope import configure_scope
from kitaru.models import CompactionRecord, CompactResult, MemoryEntry, MemoryScopeInfo, PurgeResult

__all__ = [
    "CompactResult",
    "CompactionRecord",
    "MemoryEntry",
    "MemoryScopeInfo",
    "PurgeResult",
    "configure",
    "delete",
    "get",
    "history",
    "list",
    "set",
]


def configure(scope: str | None = None, *, scope_type: str | None = None) -> None:
    """Choose the memory scope of later operations.

    ``scope_type`` is ``namespace`` (the default when only ``scope`` is given), ``flow`` or
    ``execution``. In a flow body, ``scope_type="flow"`` or ``"execution"`` without a scope
    means this flow or this execution, and the choice lasts for the rest of the body;
    ``configure()`` with no arguments goes back to the default (in a flow: the flow's own
    scope; outside: none). Outside a flow it sets this process's scope.

    Raises:
        KitaruUsageError: an unknown scope type, an invalid scope name, or no scope name
            where one is needed.
        KitaruContextError: inside a checkpoint.

    Example:
        >>> from kitaru import memory
        >>> memory.configure(scope="support-agent")  # a namespace
    """
    configure_scope(scope, scope_type)
