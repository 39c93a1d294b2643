"""``kitaru artifacts list | get | load``: the values executions stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._executions import ExecId, client, refuse_empty_id
from kitaru.cli._humanize import ago, size
from kitaru.cli._output import Output, OutputOption, UsageProblem, dumps

__all__ = ["get", "list_", "load"]

ArtifactId = Annotated[
    str,
    Parameter(
        help="The artifact: its id, the short id `kitaru artifacts list` prints (the id's end), "
        "or a unique start of it.",
        validator=refuse_empty_id,
    ),
]


def list_(
    exec_id: ExecId,
    /,
    *,
    name: Annotated[str | None, Parameter(help="Only artifacts with this name.")] = None,
    kind: Annotated[
        str | None, Parameter(help="Only this kind: output, result, input, prompt, response, context, blob.")
    ] = None,
    producing_call: Annotated[
        str | None,
        Parameter(
            name=["--producing-call", "--checkpoint"],
            help="Only what a checkpoint produced: its name (all its calls), an invocation id or a call id.",
        ),
    ] = None,
    limit: Annotated[int | None, Parameter(help="At most this many artifacts.")] = None,
    output: OutputOption = "text",
) -> int:
    """List an execution's artifacts."""
    out = Output("artifacts.list", output)
    if limit is not None and limit < 0:
        raise UsageProblem(f"--limit must be 0 or more, got {limit}.")
    refs = client().artifacts.list(exec_id, name=name, kind=kind, producing_call=producing_call, limit=limit)
    if out.json:
        out.items([r.to_dict() for r in refs])
        return 0
    if not refs:
        out.line("No artifacts match.")
        return 0
    rows = [(r.short_id, r.name, r.kind, r.type_path, size(r.size), ago(r.created_at)) for r in refs]
    out.table(["ARTIFACT ID", "NAME", "KIND", "TYPE", "SIZE", "CREATED"], rows)
    return 0


def get(artifact_id: ArtifactId, /, *, output: OutputOption = "text") -> int:
    """Show an artifact's metadata."""
    out = Output("artifacts.get", output)
    ref = client().artifacts.get(artifact_id)
    if out.json:
        out.item(ref.to_dict())
        return 0
    pairs = [
        ("Artifact", ref.artifact_id),
        ("Execution", ref.exec_id),
        ("Name", ref.name),
        ("Kind", ref.kind),
        ("Type", ref.type_path),
        ("Serializer", ref.serializer),
        ("Size", size(ref.size)),
        ("Created", ago(ref.created_at)),
        ("Call", ref.producing_call_id or "-"),
    ]
    if ref.tags:
        pairs.append(("Tags", ", ".join(ref.tags)))
    if ref.metadata:
        pairs.append(("Metadata", dumps(ref.metadata, indent=None)))
    out.fields(pairs)
    return 0


def _jsonable(value: Any) -> tuple[bool, Any]:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False, None
    return True, value


def load(
    artifact_id: ArtifactId,
    /,
    *,
    to: Annotated[
        Path | None, Parameter(help="Write the value to this file instead (bytes as they are).")
    ] = None,
    output: OutputOption = "text",
) -> int:
    """Print or save an artifact's value."""
    out = Output("artifacts.load", output)
    ref = client().artifacts.get(artifact_id)
    artifact_id = ref.artifact_id  # the full id, whichever form was given
    value = ref.load()
    if to is not None:
        if isinstance(value, bytes):
            to.write_bytes(value)
        elif isinstance(value, str):
            to.write_text(value, encoding="utf-8")
        else:
            to.write_text(dumps(value) + "\n", encoding="utf-8")
        if out.json:
            out.item({"artifact_id": artifact_id, "written_to": str(to)})
        else:
            out.line(f"Wrote artifact {artifact_id} to {to}.")
        return 0
    ok, plain = _jsonable(value)
    if out.json:
        out.item(
            {"artifact_id": artifact_id, "value": plain if ok else None, "repr": None if ok else repr(value)}
        )
    elif isinstance(value, bytes) and not out.stdout.isatty():
        out.stdout.buffer.write(value)
        out.stdout.flush()
    elif isinstance(value, str):
        out.line(value)
    else:
        out.line(dumps(value) if ok else repr(value))
    return 0
