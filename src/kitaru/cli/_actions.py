"""``kitaru executions resume | retry | replay | cancel``: acting on executions."""

from __future__ import annotations

from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._executions import ExecId, client, describe_status
from kitaru.cli._outcome import await_outcome, exit_code, item_with_result, report
from kitaru.cli._output import JSON_SOURCES_HELP, Output, OutputOption, json_option

__all__ = ["cancel", "replay", "resume", "retry"]


def _finish(out: Output, kitaru_client: Any, execution: Any, *, doing: str, what: str) -> int:
    """Wait for a continued execution (spinner), print it, and return the exit code."""
    execution = await_outcome(out, kitaru_client, execution, doing=doing)
    if out.json:
        out.item(item_with_result(kitaru_client, execution))
    else:
        report(out, execution, what=what)
    return exit_code(execution)


def resume(exec_id: ExecId, /, *, output: OutputOption = "text") -> int:
    """Continue a waiting execution whose input is given, or an orphaned one, in this process."""
    out = Output("executions.resume", output)
    kitaru_client = client()
    execution = kitaru_client.executions.resume(exec_id)
    return _finish(out, kitaru_client, execution, doing="Resuming", what="Execution")


def retry(exec_id: ExecId, /, *, output: OutputOption = "text") -> int:
    """Re-run a failed execution in place, reusing its completed checkpoints."""
    out = Output("executions.retry", output)
    kitaru_client = client()
    execution = kitaru_client.executions.retry(exec_id)
    return _finish(out, kitaru_client, execution, doing="Retrying", what="Execution")


def replay(
    exec_id: ExecId,
    /,
    *,
    from_: Annotated[
        str, Parameter(name="--from", help="Where to run live: a checkpoint name, invocation id or call id.")
    ],
    args: Annotated[
        str | None,
        Parameter(
            help="New flow inputs, a JSON object of keyword arguments. " + JSON_SOURCES_HELP,
            allow_leading_hyphen=True,
        ),
    ] = None,
    overrides: Annotated[
        str | None,
        Parameter(
            help='Pinned outputs, a JSON object: {"checkpoint.NAME": value}. ' + JSON_SOURCES_HELP,
            allow_leading_hyphen=True,
        ),
    ] = None,
    output: OutputOption = "text",
) -> int:
    """Start a new execution that reuses the calls before --from and runs the rest live."""
    out = Output("executions.replay", output)
    inputs = json_option(args, option="--args", kinds=(dict,)) if args is not None else {}
    pinned = json_option(overrides, option="--overrides", kinds=(dict,)) if overrides is not None else None
    kitaru_client = client()
    execution = kitaru_client.executions.replay(exec_id, from_=from_, overrides=pinned, **inputs)
    out.note(f"Replaying {execution.original_exec_id} from {from_!r} as new execution {execution.exec_id}")
    return _finish(out, kitaru_client, execution, doing="Running replay", what="Replay")


def cancel(exec_id: ExecId, /, *, output: OutputOption = "text") -> int:
    """Cancel an execution; a runner elsewhere stops at its next durable boundary."""
    out = Output("executions.cancel", output)
    execution = client().executions.cancel(exec_id)
    if out.json:
        out.item(execution.to_dict())
    elif execution.status.is_terminal:
        out.line(f"Execution {execution.exec_id} {execution.status}.")
    else:
        out.line(
            f"Cancellation of execution {execution.exec_id} requested; it is {describe_status(execution)} "
            "and stops at its next checkpoint or wait."
        )
    return 0
