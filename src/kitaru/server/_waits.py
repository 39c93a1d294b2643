"""Answering waits on the server: checked against the wait's JSON schema before anything is stored.

Two ways in, one check (:func:`kitaru._answer_schema.validate_answer`, the check every
surface makes, with its messages):

- ``POST /executions/{id}/input`` and ``/abort-wait`` take a JSON value (the dashboard's
  form). The server runs no user code, so it checks the schema only; the answer is recorded
  with ``checked: "schema"`` and the flow checks it with the wait's type when it continues
  (should the type refuse it, the wait asks again). Then the execution continues: in the
  live runner that holds it (it polls for the answer), or, when its runner left at the wait
  or is gone, queued for a ``kitaru worker`` as ``resume`` queues it.
- ``POST /waits/{call_id}/answer`` records an answer a client made (its value already
  stored as an artifact): a value stored as JSON is checked here too, so an answer that
  skipped the client's check is refused the same way. Values of other serializers need the
  flow's code to be read; the flow checks them when it continues.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
from fastapi import APIRouter

from kitaru._answer_schema import CHECKED_BY_SCHEMA, validate_answer
from kitaru._lifecycle import check_resume, pick_wait
from kitaru._types import new_id, sha256_hex, utcnow
from kitaru._wire import to_wire
from kitaru.artifacts.base import INLINE_LIMIT, ArtifactStore
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import (
    ANSWERED_BY_SERVER,
    WAIT_KEY,
    ArtifactRecord,
    CallRecord,
    ExecutionRecord,
    WaitAnswer,
    WaitRequest,
)
from kitaru.server._schemas import ExecutionWire
from kitaru.store.base import MetadataStore

__all__ = ["AbortWaitBody", "InputBody", "check_client_answer", "waits_router"]

#: Why an answer given to the server was checked against the wait's schema only.
SERVER_UNCHECKED = (
    "it was answered through the server, which runs no user code; the flow checks it with the "
    "wait's type when it continues"
)


class AbortWaitBody(pydantic.BaseModel):
    """Which pending wait to abort (its invocation id, call id or name; none: the only one)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    wait: str | None = None


class InputBody(AbortWaitBody):
    """The answer to a pending wait: a JSON value matching the wait's schema."""

    value: Any = pydantic.Field(description="The answer (any JSON value; null for a gate).")


def waits_router(store: MetadataStore, artifacts: ArtifactStore) -> APIRouter:
    """Return the routes that answer and abort pending waits over ``store``."""
    router = APIRouter(prefix="/executions", tags=["waits"])

    @router.post(
        "/{exec_id}/input",
        response_model=ExecutionWire,
        summary="Answer a pending wait with a JSON value; the execution continues",
        description=(
            "The value is checked against the wait's JSON schema first: 422 with the message of "
            "every other surface, and nothing recorded, when it does not match. The execution "
            "continues in its live runner, or is queued for a worker when its runner left or is "
            "gone. 409 when the execution has no such pending wait."
        ),
    )
    def give_input(exec_id: str, body: InputBody) -> Any:
        return to_wire(_answer(store, artifacts, exec_id, body.wait, value=body.value, aborted=False))

    @router.post(
        "/{exec_id}/abort-wait",
        response_model=ExecutionWire,
        summary="Abort a pending wait: wait() raises KitaruWaitAbortedError in the flow body",
        description="The execution continues as after an answer. 409 when it has no such pending wait.",
    )
    def abort_wait(exec_id: str, body: AbortWaitBody | None = None) -> Any:
        wait = body.wait if body is not None else None
        return to_wire(_answer(store, artifacts, exec_id, wait, value=None, aborted=True))

    return router


def _answer(
    store: MetadataStore,
    artifacts: ArtifactStore,
    exec_id: str,
    wait: str | None,
    *,
    value: Any,
    aborted: bool,
) -> ExecutionRecord:
    record = store.get_execution(store.resolve_exec_id(exec_id))
    call = pick_wait(record, lambda: store.list_pending_waits(record.exec_id), wait)
    request = WaitRequest.from_metadata(call.metadata, default_name=call.invocation_id)
    output = None
    checked, reason = None, None
    if not aborted:
        validate_answer(request.schema, value, wait_name=request.name)
        if request.schema is not None:
            checked, reason = CHECKED_BY_SCHEMA, SERVER_UNCHECKED
        output = _json_artifact(artifacts, value, call)
    now = utcnow()
    answer = WaitAnswer(
        aborted=aborted,
        answered_by=ANSWERED_BY_SERVER,
        answered_at=now,
        value_artifact_id=None if output is None else output.artifact_id,
        checked=checked,
        unchecked_reason=reason,
    )
    if not store.resolve_wait(call.call_id, output=output, metadata=answer.to_metadata(), ended_at=now):
        raise KitaruStateError(
            f"Wait {call.invocation_id!r} of execution {record.exec_id} was answered meanwhile; "
            "nothing was recorded."
        )
    return _continue(store, record.exec_id)


def _continue(store: MetadataStore, exec_id: str) -> ExecutionRecord:
    """Queue the answered execution for a worker unless a live runner holds it (that runner
    takes the answer: one that releases the wait meanwhile looks again and takes it back)."""
    record = store.get_execution(exec_id)
    try:
        check_resume(record, lambda: store.list_pending_waits(exec_id))
    except KitaruStateError:
        return record  # held by a live runner, another wait is pending, or it ended
    queued = store.enqueue_execution(
        exec_id, expected=[record.status], expected_runner=record.runner_id, queue=record.queue
    )
    return queued if queued is not None else store.get_execution(exec_id)


def _json_bytes(value: Any, *, wait_name: str) -> bytes:
    """The value as the json serializer stores it: compact UTF-8 JSON (NaN refused)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        raise KitaruUsageError(
            f"Input for wait {wait_name!r} is not valid JSON ({exc}); nothing was recorded."
        ) from None
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates: escaped, JSON loads them back
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _json_artifact(artifacts: ArtifactStore, value: Any, call: CallRecord) -> ArtifactRecord:
    """The artifact row of an answer, serialized as JSON (its blob written first when large)."""
    data = _json_bytes(value, wait_name=call.invocation_id)
    digest = sha256_hex(data)
    blob_key = artifacts.put(data, sha256=digest) if len(data) > INLINE_LIMIT else None
    return ArtifactRecord(
        artifact_id=new_id(),
        exec_id=call.exec_id,
        name="input",
        kind="input",
        serializer="json",
        type_path=f"builtins:{type(value).__name__}",
        size=len(data),
        sha256=digest,
        created_at=utcnow(),
        call_id=call.call_id,
        data=None if blob_key is not None else data,
        blob_key=blob_key,
    )


def check_client_answer(
    store: MetadataStore,
    artifacts: ArtifactStore,
    call_id: str,
    *,
    output: ArtifactRecord | None,
    metadata: dict[str, Any],
) -> None:
    """Check an answer a client recorded, before it is stored: a JSON value against the
    schema of the pending wait ``call_id``.

    Raises:
        KitaruWaitValidationError: the value does not match the wait's schema.
    """
    info = metadata.get(WAIT_KEY) or {}
    if info.get("aborted") or output is None or output.serializer != "json":
        return
    call = next((c for c in store.list_pending_waits(output.exec_id) if c.call_id == call_id), None)
    if call is None:
        return  # not pending (any more): the store refuses to record it
    request = WaitRequest.from_metadata(call.metadata, default_name=call.invocation_id)
    if request.schema is None:
        return
    if output.data is not None:
        data = output.data
    elif output.blob_key is not None:
        data = artifacts.get(output.blob_key)  # uploaded before the answer, as every blob is
    else:
        return  # a row without its value: nothing to check
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise KitaruUsageError(
            f"The answer to wait {call.invocation_id!r} is stored as JSON but is not JSON ({exc}); "
            "nothing was recorded."
        ) from None
    validate_answer(request.schema, value, wait_name=request.name)
