"""A flow's arguments as stored: one ``input`` artifact per argument, and back.

Each argument gets its own serializer, so a value that needs pickle (or
cannot be stored at all) concerns only its own argument. An artifact is named
after the parameter it binds to (``topic``), an extra positional argument
after the ``*args`` parameter and its index (``items[0]``), a keyword argument
after its keyword. Its metadata ``{"kitaru": {"argument": …}}`` holds the
position (an int) or the keyword (a str), which is how the call is rebuilt:
the names are for people, and stay right when the flow's code changes.

Executions stored before this layout hold all arguments in one ``inputs``
artifact (``{"args": [...], "kwargs": {...}}``) that
``ExecutionRecord.inputs_artifact_id`` points to; they load as before.

Example:
    >>> def research(topic, *sources, depth=1): ...
    >>> argument_names(research, 3, ["depth"])
    ['topic', 'sources[0]', 'sources[1]', 'depth']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from kitaru._sources import source_script
from kitaru._types import ArtifactKind
from kitaru.artifacts.base import ArtifactStore
from kitaru.artifacts.values import load_value, make_artifact
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import ArtifactRecord, ExecutionRecord
from kitaru.serde import serialize
from kitaru.store._replay import planned_inputs
from kitaru.store.base import MetadataStore

__all__ = ["argument_names", "load_inputs", "store_inputs"]

_KIND = ArtifactKind.INPUT.value


def argument_names(func: Callable[..., Any] | None, positional: int, keywords: Sequence[str]) -> list[str]:
    """Name each argument of a call of ``func``: the positional ones, then the keywords."""
    names: list[str] = []
    if positional:
        params: list[inspect.Parameter] = []
        if func is not None:
            try:
                params = list(inspect.signature(func).parameters.values())
            except (TypeError, ValueError):  # a callable without a readable signature
                params = []
        fixed = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        rest = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), "args")
        names = [fixed[i] if i < len(fixed) else f"{rest}[{i - len(fixed)}]" for i in range(positional)]
    return [*names, *keywords]


def store_inputs(
    artifacts: ArtifactStore,
    *,
    exec_id: str,
    func: Callable[..., Any] | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[list[ArtifactRecord], str | None]:
    """Serialize each argument into its own ``input`` artifact (large ones written to ``artifacts``).

    Returns the artifacts of the arguments that could be stored, and ``None`` or
    why the others could not (naming each): such an execution can only continue
    in the process that started it.
    """
    if not args and not kwargs:
        return [], None
    names = argument_names(func, len(args), list(kwargs))
    places: list[int | str] = [*range(len(args)), *kwargs]
    records: list[ArtifactRecord] = []
    problems: list[str] = []
    for name, place, value in zip(names, places, [*args, *kwargs.values()], strict=True):
        try:
            serialized = serialize(value)
        except KitaruUsageError as exc:
            where = f"position {place}" if isinstance(place, int) else "keyword"
            problems.append(f"argument {name!r} ({where}): {exc}")
            continue
        metadata = {"kitaru": {"argument": place}}
        records.append(
            make_artifact(
                artifacts,
                serialized,
                exec_id=exec_id,
                name=name,
                kind=_KIND,
                metadata=metadata,
                original=value,
            )
        )
    return records, "; ".join(problems) or None


def load_inputs(
    store: MetadataStore, artifacts: ArtifactStore, record: ExecutionRecord
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Return the stored arguments of an execution, in either stored layout.

    Raises:
        KitaruStateError: They were not all stored (the message says which and why),
            or one cannot be loaded here.
    """
    # Pickles follow the store's rule; classes of a script's flow load from that script.
    loading: dict[str, Any] = {"shared_store": store.shared, "script": source_script(record.source)}
    if record.inputs_artifact_id is not None:  # all arguments in one value
        inputs = load_value(artifacts, store.get_artifact(record.inputs_artifact_id), **loading)
        return tuple(inputs["args"]), dict(inputs["kwargs"])
    stored, reason = planned_inputs(record)
    if not stored:
        reason = reason or "they were not stored"
        raise KitaruStateError(
            f"Execution {record.exec_id} cannot be continued here: its inputs could not be stored "
            f"({reason}). Only the process that started it could have continued it."
        )
    positional: dict[int, Any] = {}
    keywords: dict[str, Any] = {}
    for listed in store.list_artifacts(record.exec_id, kind=_KIND):
        place = (listed.metadata.get("kitaru") or {}).get("argument")
        if listed.call_id is not None or isinstance(place, bool) or not isinstance(place, int | str):
            continue  # an answer to a wait, or another input that is not an argument
        value = load_value(artifacts, store.get_artifact(listed.artifact_id), **loading)
        if isinstance(place, int):
            positional[place] = value
        else:
            keywords[place] = value
    if sorted(positional) != list(range(len(positional))):
        raise KitaruStateError(
            f"Execution {record.exec_id} cannot be continued: the input artifacts of its positional "
            f"arguments are incomplete (positions {sorted(positional)}). The store was changed by hand; "
            f"list them with: kitaru artifacts list {record.exec_id} --kind input"
        )
    return tuple(positional[i] for i in range(len(positional))), keywords
