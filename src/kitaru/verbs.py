"""``kitaru.log``, ``kitaru.save`` and ``kitaru.load``.

Example:
    >>> import kitaru
    >>> @kitaru.checkpoint
    ... def draft(topic: str) -> str:
    ...     kitaru.log(tokens=812)
    ...     kitaru.save("outline", ["intro", "body"], type="context")
    ...     return "..."
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kitaru._connect import default_stores
from kitaru._sources import source_script
from kitaru._types import ArtifactKind
from kitaru.artifacts.values import load_value, make_artifact
from kitaru.errors import KitaruContextError, KitaruStateError, KitaruUsageError
from kitaru.records import ArtifactRecord, CallRecord
from kitaru.runtime.context import current_call, current_execution
from kitaru.runtime.pending import flush_call
from kitaru.serde import serialize

__all__ = ["SAVE_TYPES", "load", "log", "save"]

#: The artifact types ``save(..., type=...)`` accepts.
SAVE_TYPES = ("prompt", "response", "context", "input", "output", "blob")


def log(**metadata: Any) -> None:
    """Attach JSON-serializable metadata to the current checkpoint call, or to the
    execution when called in the flow body. Dicts merge; other values take the latest.

    Example:
        >>> kitaru.log(model="gpt-5", usage={"input_tokens": 812})  # doctest: +SKIP
    """
    for key, value in metadata.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise KitaruUsageError(
                f"kitaru.log(): the value of {key!r} ({type(value).__name__}) is not "
                f"JSON-serializable: {exc}. "
                "Log plain values (str, numbers, bool, None, lists, dicts)."
            ) from None
    scope = current_call()
    if scope is not None:
        flush_call(scope.call_id)  # the call's running row may still be deferred
        attempt_id = scope.attempt_id or None  # the attempt's metadata too (see CheckpointAttempt)
        scope.execution.writes.merge_call_metadata(scope.call_id, metadata, attempt_id=attempt_id)
        return
    ctx = current_execution()
    if ctx is None:
        raise KitaruContextError(
            "kitaru.log() was called outside a running flow. Call it in a @flow body or a @checkpoint."
        )
    ctx.writes.merge_execution_metadata(metadata)


def save(name: str, value: Any, *, type: str = "output", tags: Iterable[str] | None = None) -> None:
    """Persist a named artifact from inside a checkpoint.

    Args:
        name: The artifact's name; ``kitaru.load(exec_id, name)`` finds it.
        value: Any serializable value.
        type: One of ``prompt``, ``response``, ``context``, ``input``, ``output``, ``blob``.
        tags: Optional labels.

    Example:
        >>> kitaru.save("sources", ["a.pdf", "b.pdf"], type="context")  # doctest: +SKIP
    """
    scope = current_call()
    if scope is None:
        raise KitaruContextError(
            "kitaru.save() can only be called inside a @checkpoint (so the artifact belongs to a "
            "recorded call). Move it into a checkpoint, or return the value from one."
        )
    if not isinstance(name, str) or not name:
        raise KitaruUsageError(f"kitaru.save(): name must be a non-empty string, got {name!r}.")
    if type not in SAVE_TYPES:
        raise KitaruUsageError(f"kitaru.save(): type must be one of {', '.join(SAVE_TYPES)}; got {type!r}.")
    tag_list = tuple(tags or ())
    if not all(isinstance(t, str) for t in tag_list):
        raise KitaruUsageError(f"kitaru.save(): tags must be strings, got {tag_list!r}.")
    try:
        serialized = serialize(value)
    except KitaruUsageError as exc:
        raise KitaruUsageError(f"kitaru.save({name!r}): {exc}") from exc
    ctx = scope.execution
    artifact = make_artifact(
        ctx.artifacts,
        serialized,
        exec_id=ctx.exec_id,
        name=name,
        kind=type,
        call_id=scope.call_id,
        tags=tag_list,
        original=value,
    )
    ctx.writes.add_artifact(artifact)


#: The name ``load()`` gives the flow's return value (when nothing recorded has that name).
_RESULT = "result"


def _candidates(saved: list[ArtifactRecord], calls: list[CallRecord]) -> str:
    names = sorted({a.name for a in saved} | {c.invocation_id for c in calls if c.output_artifact_id})
    return ", ".join(repr(n) for n in names) or "none"


def load(exec_id: str, name: str) -> Any:
    """Return a named artifact or a checkpoint's output from any execution.

    ``name`` is a saved artifact's name, an invocation id (``fetch``, ``fetch_2``,
    or an explicit ``id=``), or a checkpoint name called once. ``"result"``, unless
    an artifact or a checkpoint call has that name, is the flow's return value.

    Raises:
        KitaruStateError: when nothing matches, or several artifacts do (both list
            the candidates); for ``"result"``, when the execution has not completed.

    Example:
        >>> kitaru.load("0193a2…", "outline")  # doctest: +SKIP
        ['intro', 'body']
    """
    ctx = current_execution()
    if ctx is not None:
        store, artifacts = ctx.store, ctx.artifacts
    else:
        stores = default_stores()
        store, artifacts = stores.metadata, stores.artifacts
    full_id = store.resolve_exec_id(exec_id)
    calls = store.load_journal(full_id)
    output_ids = {c.output_artifact_id for c in calls if c.output_artifact_id}
    everything = store.list_artifacts(full_id)
    saved = [
        a
        for a in everything
        if a.name == name
        and a.artifact_id not in output_ids
        and a.kind not in (ArtifactKind.RESULT, "input")
        and a.call_id is not None
    ]
    by_id = [c for c in calls if c.invocation_id == name and c.status.is_done and c.output is not None]
    matches: list[tuple[str, ArtifactRecord]] = [(f"saved artifact {a.name!r}", a) for a in saved]
    matches += [(f"output of checkpoint call {c.invocation_id!r}", c.output) for c in by_id if c.output]
    if not matches:
        by_name = [c for c in calls if c.name == name and c.status.is_done and c.output is not None]
        matches = [(f"output of checkpoint call {c.invocation_id!r}", c.output) for c in by_name if c.output]
    if len(matches) == 1:
        record = matches[0][1]
        if record.data is None and record.blob_key is None:
            record = store.get_artifact(record.artifact_id)
        script = lambda: source_script(store.get_execution(full_id).source)  # noqa: E731  (only when needed)
        return load_value(artifacts, record, shared_store=store.shared, script=script)
    if not matches and name == _RESULT:
        from kitaru.client._results import flow_result  # the client package, only when asked

        return flow_result(store, artifacts, store.get_execution(full_id))
    if not matches:
        all_saved = [a for a in everything if a.artifact_id not in output_ids and a.call_id is not None]
        raise KitaruStateError(
            f"Execution {full_id} has no artifact or checkpoint output named {name!r}. "
            f"Candidates: {_candidates(all_saved, calls)}."
        )
    listed = "; ".join(label for label, _ in matches)
    raise KitaruStateError(
        f"{name!r} is ambiguous in execution {full_id}: it matches {listed}. "
        "Pass an invocation id (e.g. 'fetch_2') or give saved artifacts distinct names."
    )
