"""``kitaru executions list | get | logs``: reading executions."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from cyclopts import Parameter

from kitaru.cli._humanize import ago, cost, duration, parse_since, tokens
from kitaru.cli._output import Output, OutputOption, UsageProblem, dumps

__all__ = [
    "CALLS_LIMIT",
    "FOLLOW_INTERVAL",
    "ExecId",
    "client",
    "describe_status",
    "format_log",
    "from_source",
    "list_item",
    "get",
    "list_",
    "logs",
    "refuse_empty_id",
    "show_execution",
]


def refuse_empty_id(type_: Any, value: Any) -> None:
    """Refuse an empty execution id (an unset shell variable): as a prefix it matches every one."""
    if isinstance(value, str) and not value.strip():
        raise ValueError(
            "An empty id would match every execution; give the execution's id or a unique prefix "
            "of it (see `kitaru executions list`)."
        )


ExecId = Annotated[
    str,
    Parameter(
        help="The execution: its id, the short id tables print (the id's end), a unique start of "
        "it, or latest (the newest).",
        validator=refuse_empty_id,
    ),
]
StatusChoice = Literal["pending", "running", "waiting", "completed", "failed", "cancelled", "orphaned"]
_UNFINISHED = ("running", "waiting", "pending")


def client() -> Any:
    """A client on the active stack's stores."""
    from kitaru.client import KitaruClient

    return KitaruClient()


def describe_status(execution: Any) -> str:
    """The status with what matters next to it (orphaned, cancel requested)."""
    status = str(execution.status)
    if getattr(execution, "orphaned", False):
        return f"{status} (orphaned: resume it)"
    if getattr(execution, "cancel_requested", False) and not execution.status.is_terminal:
        return f"{status} (cancel requested)"
    return status


def list_(
    *,
    flow: Annotated[str | None, Parameter(help="Only executions of this flow.")] = None,
    status: Annotated[
        StatusChoice | None,
        Parameter(
            help="Only executions with this status; orphaned: running, waiting or pending "
            "with their runner gone (resume them)."
        ),
    ] = None,
    limit: Annotated[int, Parameter(help="At most this many (newest first).")] = 50,
    since: Annotated[str | None, Parameter(help="Only newer ones: 30m, 2h, 7d, or an ISO date.")] = None,
    output: OutputOption = "text",
) -> int:
    """List executions, newest first."""
    out = Output("executions.list", output)
    if limit < 1:
        raise UsageProblem(f"--limit must be at least 1, got {limit}.")
    try:
        after = parse_since(since) if since else None
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    executions = _listed(flow, status, limit, after)
    if out.json:
        out.items([list_item(e) for e in executions])
        return 0
    if not executions:
        filtered = any(v is not None for v in (flow, status, since))
        out.line(
            "No executions match."
            if filtered
            else "No executions yet. Start one with `kitaru run FILE:FLOW`."
        )
        return 0
    rows: list[tuple[Any, ...]] = [
        (
            e.short_id,
            e.flow_name,
            out.status(describe_status(e)),
            ago(e.started_at or e.created_at),
            duration(e.duration_seconds),
        )
        for e in executions
    ]
    headers = ["EXEC ID", "FLOW", "STATUS", "STARTED", "DURATION"]
    if any(e.llm_usage is not None and e.llm_usage.calls for e in executions):
        # Model usage columns only where some listed execution called a model.
        headers += ["TOKENS", "COST"]
        rows = [
            (*row, tokens(e.llm_usage), cost(e.llm_usage)) for row, e in zip(rows, executions, strict=True)
        ]
    out.table(headers, rows)
    return 0


def _listed(flow: str | None, status: str | None, limit: int, since: Any) -> list[Any]:
    """The executions to list; orphaned ones are the unfinished ones whose runner is gone."""
    executions = client().executions
    if status != "orphaned":
        return executions.list(flow=flow, status=status, limit=limit, since=since)  # type: ignore[no-any-return]
    unfinished = [
        e for s in _UNFINISHED for e in executions.list(flow=flow, status=s, limit=None, since=since)
    ]
    orphaned = [e for e in unfinished if e.orphaned]
    orphaned.sort(key=lambda e: (e.created_at, e.exec_id), reverse=True)
    return orphaned[:limit]


def list_item(execution: Any) -> dict[str, Any]:
    """One execution of ``executions list -o json``: its fields (with its flow id, stack,
    status reason and the store's counts) and the first pending wait."""
    item: dict[str, Any] = execution.to_dict()  # pending_wait included
    if item.get("stack_name") is None:
        item["stack_name"] = "default"  # recorded before executions named their stack
    usage = execution.llm_usage
    item["tokens"] = usage.total_tokens if usage is not None else 0
    item["cost_usd"] = usage.cost_usd if usage is not None else None
    return item


SHORT_VALUE = 60
"""How many characters of an input or result value ``executions get`` shows without ``-v``."""


def _value_text(artifact: Any, *, verbose: bool) -> str:
    """An input or result value as JSON: cut to :data:`SHORT_VALUE` characters unless ``verbose``.

    A value that cannot be loaded here (its class is not importable) shows its type and the
    command that loads it.
    """
    from kitaru.errors import KitaruError

    load = f"kitaru artifacts load {artifact.short_id}"
    try:
        text = dumps(artifact.load(), indent=2 if verbose else None)
    except (KitaruError, ImportError, AttributeError) as exc:
        return f"<{artifact.type_path}, {artifact.size} B, not loadable here: {exc}> ({load})"
    if verbose or len(text) <= SHORT_VALUE:
        return text
    return f"{text[: SHORT_VALUE - 1]}… ({load}, or -v)"


def show_execution(out: Output, execution: Any, *, offset: int = 0, verbose: bool = False) -> None:
    """Print one execution as text: summary, inputs, result, calls, waits, failure; the spec
    only when ``verbose``.

    ``execution.checkpoints`` may be a page of the calls starting at ``offset``;
    a line then says which, and how to see the others.
    """
    pairs: list[tuple[str, Any]] = [
        ("Execution", execution.exec_id),
        ("Flow", execution.flow_name),
        ("Status", out.status(describe_status(execution))),
        ("Started", ago(execution.started_at or execution.created_at)),
        ("Duration", duration(execution.duration_seconds)),
    ]
    if execution.original_exec_id:
        pairs.append(("Replay of", execution.original_exec_id))
    inputs = [a for a in execution.artifacts if a.kind == "input" and a.producing_call_id is None]
    if inputs:
        shown = ", ".join(f"{a.name}={_value_text(a, verbose=verbose)}" for a in inputs)
        pairs.append(("Inputs", shown))
    result = next((a for a in execution.artifacts if a.kind == "result"), None)
    if result is not None:
        pairs.append(("Result", _value_text(result, verbose=verbose)))
    usage = execution.llm_usage
    if usage is not None and usage.calls:
        pairs.append(("Model calls", _usage_text(usage)))
    if execution.failure is not None:
        failure = execution.failure
        pairs.append(("Failure", f"{failure.exception_type}: {failure.message} [{failure.origin}]"))
    out.fields(pairs)
    if execution.checkpoints:
        out.line()
        out.line("Checkpoint calls", style="bold")
        rows = [
            (
                c.seq,
                c.invocation_id,
                c.type or c.kind,
                out.status(str(c.status)),
                len(c.attempts),
                duration(c.duration_seconds),
            )
            for c in execution.checkpoints
        ]
        out.table(["#", "INVOCATION ID", "TYPE", "STATUS", "ATTEMPTS", "DURATION"], rows)
        _show_reruns(out, execution.checkpoints)
    hint = _calls_hint(execution, offset)
    if hint is not None:
        out.line(hint)
    if execution.pending_waits:
        out.line()
        out.line("Pending waits", style="bold")
        wait_rows: list[tuple[Any, ...]] = [
            (
                w.name,
                w.question or "-",
                dumps(w.schema, indent=None) if w.schema else "continue/abort",
                ago(w.since),
            )
            for w in execution.pending_waits
        ]
        out.table(["WAIT", "QUESTION", "SCHEMA", "SINCE"], wait_rows)
        out.line(f"Answer with: kitaru executions input {execution.exec_id} --value JSON (or -i)")
    if execution.failure is not None and execution.failure.traceback:
        out.line()
        out.line("Traceback", style="bold")
        out.line(execution.failure.traceback.rstrip())
    if execution.spec and verbose:
        out.line()
        out.line("Frozen spec (secrets redacted)", style="bold")
        out.line(dumps(execution.spec))


def _usage_text(usage: Any) -> str:
    """``2 calls, 1,234 tokens (1,200 in, 34 out), $0.00045`` (see :func:`cost`)."""
    calls = f"{usage.calls} call{'s' if usage.calls != 1 else ''}"
    spent = f"{tokens(usage)} tokens ({usage.input_tokens:,} in, {usage.output_tokens:,} out)"
    unpriced = f"; {usage.unpriced_calls} without a known price" if usage.unpriced_calls else ""
    return f"{calls}, {spent}, cost {cost(usage)}{unpriced}"


def _show_reruns(out: Output, calls: Any) -> None:
    """List the recorded calls that ran again instead of being reused, and why."""
    reruns = [(c, (c.metadata.get("kitaru") or {}).get("rerun_reason")) for c in calls]
    reruns = [(c, reason) for c, reason in reruns if reason]
    if not reruns:
        return
    out.line()
    out.line("Recorded calls that ran again (not reused)", style="bold")
    for call, reason in reruns:
        out.line(f"  {call.invocation_id}: {reason} since the call was recorded")


CALLS_LIMIT = 50
"""How many calls ``kitaru executions get`` shows unless told otherwise."""


def get(
    exec_id: ExecId,
    /,
    *,
    calls_limit: Annotated[
        int, Parameter(help=f"Show at most this many calls per page (0: all). Default {CALLS_LIMIT}.")
    ] = CALLS_LIMIT,
    page: Annotated[int, Parameter(help="Which page of calls to show (1 is the first).")] = 1,
    verbose: Annotated[
        bool,
        Parameter(
            name=["--verbose", "-v"],
            negative="",
            help="Show input and result values in full, and the frozen spec (the resolved configuration).",
        ),
    ] = False,
    output: OutputOption = "text",
) -> int:
    """Show one execution with a page of its calls."""
    out = Output("executions.get", output)
    if calls_limit < 0:
        raise UsageProblem(f"--calls-limit must be 0 (all) or more, got {calls_limit}.")
    if page < 1:
        raise UsageProblem(f"--page must be at least 1, got {page}.")
    executions = client().executions
    execution = executions.get(exec_id, checkpoints=False)
    limit = calls_limit or None
    offset = (page - 1) * calls_limit
    calls = executions.list_checkpoints(execution.exec_id, offset=offset, limit=limit)
    execution = dataclasses.replace(execution, checkpoints=tuple(calls))
    if out.json:
        item = execution.to_dict()
        item["checkpoints_page"] = {"offset": offset, "limit": limit, "page": page}
        out.item(item)
    else:
        show_execution(out, execution, offset=offset, verbose=verbose)
    return 0


def _calls_hint(execution: Any, offset: int) -> str | None:
    """Where the shown page of calls sits among all, and how to see the others."""
    total = execution.checkpoint_count
    shown = len(execution.checkpoints)
    if total is None or (offset == 0 and shown >= total):
        return None
    if not shown:
        return f"No calls on this page; the execution has {total:,} (first page: --page 1)."
    first, last = offset + 1, offset + shown
    more = total - last
    hint = f"Calls {first:,}-{last:,} of {total:,}."
    if more > 0:
        hint += f" {more:,} more: --page N shows others, --calls-limit 0 shows all."
    return hint


LogSource = Literal["step", "runner"]

FOLLOW_INTERVAL = 0.2
"""Seconds between looks for new log lines with ``logs --follow`` unless --interval says."""


def logs(
    exec_id: ExecId,
    /,
    *,
    checkpoint: Annotated[
        str | None,
        Parameter(help="Only these calls: a checkpoint name (all its calls), an invocation id or a call id."),
    ] = None,
    source: Annotated[
        LogSource | None,
        Parameter(help="Only lines written inside checkpoints (step) or outside them, by the flow (runner)."),
    ] = None,
    follow: Annotated[
        bool, Parameter(name=["--follow", "-f"], negative="", help="Stream until it ends.")
    ] = False,
    interval: Annotated[
        float, Parameter(help="With --follow: seconds between looks for new lines.")
    ] = FOLLOW_INTERVAL,
    grouped: Annotated[
        bool, Parameter(negative="", help="Group the lines by checkpoint call (not with --follow).")
    ] = False,
    verbose: Annotated[
        int,
        Parameter(
            name=["--verbose", "--verbosity", "-v"],
            count=True,
            help="More per line: -v date, level and stream; -vv also the call id and, for logging "
            "records, where in the code (module:line).",
        ),
    ] = 0,
    limit: Annotated[int | None, Parameter(help="At most this many lines (without --follow).")] = None,
    output: OutputOption = "text",
) -> int:
    """Show or follow the captured log lines of an execution."""
    out = Output("executions.logs", output)
    if not 0 < interval <= 3600:
        raise UsageProblem(f"--interval must be more than 0 and at most 3600 seconds, got {interval:g}.")
    if follow:
        if grouped:
            raise UsageProblem("--grouped needs the whole log; drop --follow, or --grouped.")
        from kitaru.cli._follow import follow_logs

        return follow_logs(
            out, client(), exec_id, checkpoint=checkpoint, source=source, interval=interval, verbose=verbose
        )
    if limit is not None and limit < 0:
        raise UsageProblem(f"--limit must be 0 or more, got {limit}.")
    entries = client().executions.logs(exec_id, checkpoint=checkpoint, source=source, limit=limit)
    if grouped:
        return _show_grouped(out, entries, verbose)
    if out.json:
        out.items([e.to_dict() for e in entries])
        return 0
    if not entries:
        out.note("No log lines captured.")
    for entry in entries:
        out.line(format_log(entry, verbose))
    return 0


def from_source(entry: Any, source: str | None) -> bool:
    """Whether the line is of ``source``: ``step`` inside a checkpoint call, ``runner`` outside."""
    if source is None:
        return True
    return (entry.call_id is not None) == (source == "step")


def _show_grouped(out: Output, entries: list[Any], verbose: int) -> int:
    """The lines grouped by the call that wrote them (the flow's own lines as one group), in
    the order each call first wrote."""
    groups: dict[str | None, list[Any]] = {}
    for entry in entries:
        groups.setdefault(entry.call_id, []).append(entry)
    if out.json:
        out.items(
            [
                {
                    "checkpoint": lines[0].invocation_id,
                    "call_id": call_id,
                    "count": len(lines),
                    "entries": [e.to_dict() for e in lines],
                }
                for call_id, lines in groups.items()
            ]
        )
        return 0
    if not entries:
        out.note("No log lines captured.")
    for i, (call_id, lines) in enumerate(groups.items()):
        if i:
            out.line()
        title = lines[0].invocation_id if call_id is not None else "flow (outside checkpoints)"
        out.line(f"{title} ({len(lines)} line{'s' if len(lines) != 1 else ''})", style="bold")
        for entry in lines:
            out.line("  " + format_log(entry, verbose, where=False))
    return 0


def format_log(entry: Any, verbose: int = 0, *, where: bool = True) -> str:
    """``HH:MM:SS  where  message`` (stderr and non-INFO levels are marked).

    ``verbose`` 1 shows the date with milliseconds, the level and the stream of every
    line; 2 also the call id and the call site of a ``logging`` record (``module:line``).
    ``where=False`` leaves out the call (grouped output).
    """
    local = entry.timestamp.astimezone()
    place = entry.invocation_id or "flow"
    if verbose:
        stamp = local.isoformat(sep=" ", timespec="milliseconds")
        fields = [stamp, f"{entry.level:<7}", f"{entry.source:<6}"]
        if where:
            fields.append(place)
        if verbose > 1:
            fields.append(f"call={entry.call_id or '-'}")
            if entry.lineno is not None:
                fields.append(f"{entry.module or entry.filename or '?'}:{entry.lineno}")
        return "  ".join([*fields, entry.message])
    mark = ""
    if entry.source == "stderr":
        mark = "[stderr] "
    elif entry.source not in ("stdout", "stderr") and entry.level != "INFO":
        mark = f"[{entry.level}] "
    prefix = f"{local.strftime('%H:%M:%S')}  {place}  " if where else f"{local.strftime('%H:%M:%S')}  "
    return f"{prefix}{mark}{entry.message}"
