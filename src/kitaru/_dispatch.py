"""Where the client hands work that needs the runtime (continuing, replaying, cancelling).

The client is a leaf: it never imports the runtime. The runtime side registers
a dispatcher here when it is imported (by ``kitaru.flow``, or on the first
request from the client); later, a worker pool serving the store can take
this role.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any, Protocol

from kitaru._types import ExecutionStatus
from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruFeatureNotAvailableError
from kitaru.store.base import MetadataStore

__all__ = ["Dispatcher", "get_dispatcher", "set_dispatcher"]


class Dispatcher(Protocol):
    """Runs executions on behalf of the client."""

    def continue_execution(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        exec_id: str,
        *,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None,
    ) -> bool:
        """Claim the execution (compare-and-set) and continue it in the background.
        Returns ``False`` when another runner claimed it first."""
        ...

    def replay(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        exec_id: str,
        *,
        from_: str,
        overrides: dict[str, Any] | None,
        flow_inputs: dict[str, Any],
    ) -> str:
        """Start a replay of ``exec_id`` in the background and return the new exec id."""
        ...

    def cancel_here(self, exec_id: str) -> None:
        """Tell a run of ``exec_id`` in this process (if any) to stop at once."""
        ...


_dispatcher: Dispatcher | None = None


def set_dispatcher(dispatcher: Dispatcher) -> None:
    """Install the dispatcher (done by ``kitaru`` on import)."""
    global _dispatcher
    _dispatcher = dispatcher


def get_dispatcher() -> Dispatcher:
    """Return the installed dispatcher, installing the runtime's on first use."""
    if _dispatcher is None:
        # The runtime registers itself when imported; reached by name so that the client,
        # which imports this module, stays independent of the runtime.
        importlib.import_module("kitaru.runtime.targets.local")
    if _dispatcher is None:
        raise KitaruFeatureNotAvailableError(
            "No runtime is available to run executions in this process; import kitaru first."
        )
    return _dispatcher
