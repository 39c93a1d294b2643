"""The execution target the client hands work to (continuing, replaying, cancelling).

The client is a leaf: it never imports the runtime. The composition root
(:mod:`kitaru._connect`) injects a target into :class:`kitaru.client.KitaruClient`;
today that is the local target, which runs executions in this process, and
later a worker queue serving the store can take this role.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from kitaru._types import ExecutionStatus
from kitaru.artifacts.base import ArtifactStore
from kitaru.store.base import MetadataStore

__all__ = ["ExecutionTarget"]


class ExecutionTarget(Protocol):
    """Where executions run on behalf of the client."""

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
        options: dict[str, Any] | None = None,
    ) -> str:
        """Start a replay of ``exec_id`` in the background and return the new exec id.

        ``options`` (``cache``, ``retries``, ``image``) change those of the source."""
        ...

    def cancel_here(self, exec_id: str) -> None:
        """Tell a run of ``exec_id`` in this process (if any) to stop at once."""
        ...
