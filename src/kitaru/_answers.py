"""Answering a wait: one validation, one reading of typed text, one writer.

Every way of answering goes through here: the runner's terminal prompt, the
client's ``executions.input``/``abort_wait`` and so the CLI (``--value`` and
``-i``). An answer is checked against the JSON schema stored with the wait
(:func:`validate_answer`) before anything is written, and
:func:`record_answer` is the only code that stores one, so an answer that one
surface rejects is rejected by every other, and nothing invalid is recorded.

Example:
    >>> parse_answer_text("21", {"type": "integer"}, wait_name="count")
    21
    >>> parse_answer_text("hello", {"type": "string"}, wait_name="name")
    'hello'
"""

from __future__ import annotations

import json
from typing import Any

from kitaru._strict_json import NonFiniteNumberError, loads_strict
from kitaru._types import utcnow
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.values import make_artifact
from kitaru.errors import KitaruUsageError, KitaruWaitValidationError
from kitaru.records import CallRecord, WaitAnswer, WaitRequest
from kitaru.serde import serialize
from kitaru.store.base import MetadataStore

__all__ = ["parse_answer_text", "record_answer", "validate_answer"]


def validate_answer(schema: dict[str, Any] | None, value: Any, *, wait_name: str) -> None:
    """Raise ``KitaruWaitValidationError`` when ``value`` does not match the wait's JSON schema.

    A wait without a schema (a continue/abort gate) takes any value. This is the
    one check of every answer, whichever surface gives it.
    """
    if schema is None:
        return
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        raise KitaruWaitValidationError(
            f"Input for wait {wait_name!r} does not match its schema: {exc.message}. "
            f"Expected: {json.dumps(schema)}. Nothing was recorded; the execution still waits."
        ) from None
    except jsonschema.SchemaError as exc:  # pragma: no cover - schemas come from pydantic
        raise KitaruWaitValidationError(f"Wait {wait_name!r} has an unusable schema: {exc.message}") from None


def parse_answer_text(raw: str, schema: dict[str, Any] | None, *, wait_name: str) -> Any:
    """Read an answer typed at a prompt and return the value it stands for (validated).

    The one rule of every prompt: the text is read as JSON when that matches the
    schema; otherwise the text itself, as a string, when a string matches it
    (so ``hello`` answers a ``str`` wait without quotes). JSON is read strictly:
    ``NaN`` or ``Infinity`` answer only a string wait (as that text). Anything else raises
    the ``KitaruWaitValidationError`` that the JSON value (or, for text that is
    not JSON, the string) gets from :func:`validate_answer`. A gate (no schema)
    takes any text and returns ``None``.
    """
    if schema is None:
        return None
    text = raw.strip()
    try:
        parsed = loads_strict(text)
    except json.JSONDecodeError:
        validate_answer(schema, text, wait_name=wait_name)
        return text
    except NonFiniteNumberError as exc:  # e.g. NaN: only a string wait takes it, as text
        try:
            validate_answer(schema, text, wait_name=wait_name)
        except KitaruWaitValidationError:
            raise KitaruWaitValidationError(
                f"Input for wait {wait_name!r} is not valid JSON: {exc}. Nothing was recorded; "
                "the execution still waits."
            ) from None
        return text
    try:
        validate_answer(schema, parsed, wait_name=wait_name)
    except KitaruWaitValidationError as first:
        try:
            validate_answer(schema, text, wait_name=wait_name)
        except KitaruWaitValidationError:
            raise first from None
        return text
    return parsed


def record_answer(
    store: MetadataStore,
    artifacts: ArtifactStore,
    call: CallRecord,
    *,
    value: Any,
    aborted: bool,
    answered_by: str,
) -> bool:
    """Validate and store the answer of the pending wait ``call``; the only writer of answers.

    Returns ``False`` (and stores nothing) when the wait was answered meanwhile.

    Raises:
        KitaruWaitValidationError: ``value`` does not match the wait's schema; nothing is recorded.
        KitaruUsageError: ``value`` cannot be stored.
    """
    request = WaitRequest.from_metadata(call.metadata, default_name=call.invocation_id)
    output = None
    if not aborted:
        validate_answer(request.schema, value, wait_name=call.invocation_id)
        try:
            serialized = serialize(value)
        except KitaruUsageError as exc:
            raise KitaruUsageError(f"Input for wait {call.invocation_id!r}: {exc}") from exc
        output = make_artifact(
            artifacts, serialized, exec_id=call.exec_id, name="input", kind="input", call_id=call.call_id
        )
    now = utcnow()
    answer = WaitAnswer(
        aborted=aborted,
        answered_by=answered_by,
        answered_at=now,
        value_artifact_id=None if output is None else output.artifact_id,
    )
    return store.resolve_wait(call.call_id, output=output, metadata=answer.to_metadata(), ended_at=now)
