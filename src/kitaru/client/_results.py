"""Loading an execution's result: the flow's return value."""

from __future__ import annotations

from typing import Any

from kitaru._sources import source_script
from kitaru._types import ExecutionStatus
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.values import load_value
from kitaru.errors import KitaruStateError
from kitaru.models import FailureInfo
from kitaru.records import ExecutionRecord
from kitaru.store.base import MetadataStore

__all__ = ["flow_result"]


def flow_result(store: MetadataStore, artifacts: ArtifactStore, record: ExecutionRecord) -> Any:
    """Return the value the execution's flow returned.

    Raises:
        KitaruStateError: The execution has no result: it has not completed (the
            message says what it is doing, or why it ended, and the command that
            continues it).
    """
    exec_id = record.exec_id
    if record.status is ExecutionStatus.COMPLETED:
        if record.result_artifact_id is None:
            return None
        return load_value(
            artifacts,
            store.get_artifact(record.result_artifact_id),
            shared_store=store.shared,
            script=lambda: source_script(record.source),
        )
    if record.status is ExecutionStatus.FAILED:
        failure = FailureInfo.from_dict(record.failure)
        why = f": {failure.exception_type}: {failure.message}" if failure is not None else ""
        raise KitaruStateError(
            f"Execution {exec_id} has no result: it failed{why}. "
            f"Retry it with `kitaru executions retry {exec_id}`."
        )
    if record.status is ExecutionStatus.CANCELLED:
        raise KitaruStateError(
            f"Execution {exec_id} has no result: it was cancelled. Start a new execution from it "
            f"with `kitaru executions replay {exec_id} --from <checkpoint>`."
        )
    raise KitaruStateError(
        f"Execution {exec_id} has no result yet: it is {record.status.value}. Wait for it to end "
        f"with KitaruClient().executions.wait_for({exec_id!r}) (or follow it with "
        f"`kitaru executions logs {exec_id} --follow`), then load the result."
    )
