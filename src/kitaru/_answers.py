"""Answering a wait: one validation, one reading of typed text, one writer.

Every way of answering goes through here: the runner's terminal prompt, the
client's ``executions.input``/``abort_wait`` and so the CLI (``--value`` and
``-i``). :func:`record_answer` is the only code that stores an answer, and it
checks it first as the flow will take it (:func:`check_answer`): against the
JSON schema stored with the wait, formats included (:func:`validate_answer`,
which :mod:`kitaru._answer_schema` shares with the server), then with the
wait's own pydantic type, rebuilt from its recorded description (a model's
validators run too). So an answer that one surface rejects is
rejected by every other, and nothing invalid is recorded.

Where the type cannot be loaded (its code is not importable or not trusted in
this process), only the schema is checked: the answer is recorded with
``checked: "schema"`` and the reason, and a warning says so. Should the flow's
type then refuse it, the wait asks again (see :mod:`kitaru.runtime.waits`).

Example:
    >>> parse_answer_text("21", {"type": "integer"}, wait_name="count")
    21
    >>> parse_answer_text("hello", {"type": "string"}, wait_name="name")
    'hello'
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from kitaru._answer_schema import (
    CHECKED_BY_SCHEMA,
    CHECKED_BY_TYPE,
    describe_validation_error,
    validate_answer,
)
from kitaru._sources import ScriptSource, scripts_from, source_script
from kitaru._strict_json import NonFiniteNumberError, loads_strict
from kitaru._types import utcnow
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.values import make_artifact
from kitaru.errors import KitaruError, KitaruUsageError, KitaruWaitValidationError
from kitaru.records import CallRecord, WaitAnswer, WaitRequest
from kitaru.serde import rebuild_type, serialize
from kitaru.store.base import MetadataStore

__all__ = [
    "CHECKED_BY_SCHEMA",
    "CHECKED_BY_TYPE",
    "check_answer",
    "describe_validation_error",
    "parse_answer_text",
    "record_answer",
    "validate_answer",
]


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


def _adapter_for(request: WaitRequest, script: ScriptSource) -> tuple[Any, str | None]:
    """The pydantic adapter of the wait's own type, or ``None`` and why it cannot be had here."""
    if request.type is None:
        return None, (
            "the wait recorded no type that another process can rebuild (e.g. Annotated[...], or a "
            "class defined inside a function)"
        )
    from pydantic import TypeAdapter

    try:
        with scripts_from(script, named_by="the source reference of the wait's execution"):
            return TypeAdapter(rebuild_type(request.type)), None
    except KitaruError as exc:
        return None, f"its type cannot be loaded in this process: {exc}"
    except Exception as exc:  # pydantic refuses the rebuilt type
        return None, f"its type cannot be rebuilt in this process: {type(exc).__name__}: {exc}"


def check_answer(
    request: WaitRequest, value: Any, *, adapter: Any = None, script: ScriptSource = None
) -> tuple[str | None, str | None]:
    """Check ``value`` as the flow will take it; return what checked it and, when only the
    schema did, why.

    First the JSON schema with its formats (:func:`validate_answer`), then the wait's own
    type: ``adapter`` when the caller has it (the runner's prompt), else rebuilt from
    ``request.type`` (``script`` is the execution's script, for types of a ``__main__``).

    Raises:
        KitaruWaitValidationError: the schema or the type refuses ``value``.
    """
    validate_answer(request.schema, value, wait_name=request.name)
    if request.schema is None:
        return None, None  # a gate: no value to check
    reason = None
    if adapter is None:
        adapter, reason = _adapter_for(request, script)
    if adapter is None:
        return CHECKED_BY_SCHEMA, reason
    try:
        adapter.validate_python(value)
    except Exception as exc:
        raise KitaruWaitValidationError(
            f"Input for wait {request.name!r} is not valid for its type: {describe_validation_error(exc)}. "
            "Nothing was recorded; the execution still waits."
        ) from None
    return CHECKED_BY_TYPE, None


def record_answer(
    store: MetadataStore,
    artifacts: ArtifactStore,
    call: CallRecord,
    *,
    value: Any,
    aborted: bool,
    answered_by: str,
    adapter: Any = None,
) -> bool:
    """Check and store the answer of the pending wait ``call``; the only writer of answers.

    ``adapter`` is the wait's pydantic adapter when the caller has it (the runner's own
    prompt); otherwise the type is rebuilt here (:func:`check_answer`). When only the JSON
    schema could be checked, the answer is recorded with that said, and a
    ``UserWarning`` tells why. Returns ``False`` (and stores nothing) when the wait was
    answered meanwhile.

    Raises:
        KitaruWaitValidationError: ``value`` does not fit the wait's schema or type; nothing
            is recorded.
        KitaruUsageError: ``value`` cannot be stored.
    """
    request = WaitRequest.from_metadata(call.metadata, default_name=call.invocation_id)
    output = None
    checked, reason = None, None
    if not aborted:
        script = lambda: source_script(store.get_execution(call.exec_id).source)  # noqa: E731
        checked, reason = check_answer(request, value, adapter=adapter, script=script)
        if checked == CHECKED_BY_SCHEMA:
            warnings.warn(
                f"The answer to wait {call.invocation_id!r} of execution {call.exec_id} was checked "
                f"against its JSON schema only: {reason}. The flow checks it with its type when it "
                "continues; should the type refuse it, the wait asks again.",
                UserWarning,
                stacklevel=4,
            )
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
        checked=checked,
        unchecked_reason=reason,
    )
    return store.resolve_wait(call.call_id, output=output, metadata=answer.to_metadata(), ended_at=now)
