"""``kitaru run FILE_OR_MODULE:FLOW``: start a flow from the shell.

A file is run under a module name other than ``__main__`` (so its
``if __name__ == "__main__":`` block does not run) and recorded as the
script it is, so other processes can load it again by path; a module is
imported (the current directory is on the import path).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._outcome import exit_code, jsonable_result, report
from kitaru.cli._output import JSON_SOURCES_HELP, Output, OutputOption, UsageProblem, dumps, json_option

__all__ = ["load_flow_object", "run"]


def load_flow_object(target: str) -> Any:
    """Find the flow named by ``FILE.py:FLOW`` or ``module:FLOW`` (``:FLOW`` optional when
    the file defines exactly one flow); a target that names none is a usage problem."""
    from kitaru.errors import KitaruUsageError
    from kitaru.flow import load_flow_target

    try:
        return load_flow_target(target)
    except KitaruUsageError as exc:
        raise UsageProblem(str(exc)) from None


def _left(handle: Any, kitaru_client: Any, seconds: float) -> bool:
    """Whether the execution ended or this process's runner left it at a wait(), within ``seconds``."""
    outcome = handle._outcome  # set when the runner of this process returns
    if outcome is not None:
        return bool(outcome.done.wait(seconds))
    try:
        kitaru_client.executions.wait_for(handle.exec_id, timeout=seconds)
    except TimeoutError:
        return False
    return True


def _watch(out: Output, kitaru_client: Any, handle: Any, *, timeout: float | None) -> tuple[bool, set[str]]:
    """Block until the execution ends or leaves a wait(), reporting a pending wait once it shows.

    Returns whether it did (``False``: ``timeout`` seconds passed first) and the ids of the
    waits reported (the final report leaves them out, so the output is the same either way).
    """
    import time

    deadline = None if timeout is None else time.monotonic() + timeout
    announced: set[str] = set()
    prompts_here = sys.stdin.isatty() and sys.stdout.isatty()  # wait() then asks in this terminal
    if prompts_here:
        # A live spinner would redraw over the prompt of a wait(); say it once instead.
        out.note(f"Waiting for execution {handle.exec_id} to end (Ctrl-C leaves it resumable) …")
    spinner = out.spinner(None if prompts_here else f"Running execution {handle.exec_id} …")
    spinner.start()
    try:
        while True:
            step = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            if _left(handle, kitaru_client, step):
                return True, announced
            if deadline is not None and time.monotonic() >= deadline:
                return False, announced
            waits = kitaru_client.executions.pending_waits(handle.exec_id)
            if waits:
                spinner.stop()
            else:
                spinner.start()
            if waits and not prompts_here and not out.json and waits[0].wait_id not in announced:
                announced.add(waits[0].wait_id)
                report(out, kitaru_client.executions.get(handle.exec_id, checkpoints=False), what="Execution")
    finally:
        spinner.stop()


def _give_up(out: Output, kitaru_client: Any, handle: Any, timeout: float) -> int:
    """``--timeout`` passed: cancel the execution (it runs in this process) and say so."""
    from kitaru.errors import KitaruStateError

    with contextlib.suppress(KitaruStateError):  # it ended in the meantime
        kitaru_client.executions.cancel(handle.exec_id)
    _left(handle, kitaru_client, 60.0)
    out.error(
        f"Execution {handle.exec_id} did not end or reach a wait() within --timeout {timeout:g} s; "
        "it was cancelled (it stops at its next checkpoint or wait). See what it did: "
        f"kitaru executions get {handle.exec_id}; run it again with a longer --timeout.",
        "TimeoutError",
    )
    return 1


def run(
    target: Annotated[str, Parameter(help="FILE.py:FLOW or package.module:FLOW.")],
    /,
    *,
    args: Annotated[
        str | None,
        Parameter(
            help="Flow arguments: a JSON object (keywords) or a JSON list (positional). " + JSON_SOURCES_HELP,
            allow_leading_hyphen=True,
        ),
    ] = None,
    wait: Annotated[
        bool, Parameter(negative="", help="Print the result (or the pending wait) when it ends or waits.")
    ] = False,
    timeout: Annotated[
        float | None,
        Parameter(
            help="Seconds to wait for the end or a wait(); then the execution is cancelled and the "
            "command exits 1."
        ),
    ] = None,
    cache: Annotated[bool | None, Parameter(help="Use the cross-execution cache (off by default).")] = None,
    retries: Annotated[int | None, Parameter(help="Re-run the execution this many times on failure.")] = None,
    stack: Annotated[str | None, Parameter(help="Run on this stack instead of the active one.")] = None,
    output: OutputOption = "text",
) -> int:
    """Start a flow."""
    out = Output("run", output)
    if timeout is not None and timeout <= 0:
        raise UsageProblem(f"--timeout must be more than 0 seconds, got {timeout:g}.")
    parsed = json_option(args, option="--args", kinds=(dict, list)) if args is not None else {}
    positional, keywords = (parsed, {}) if isinstance(parsed, list) else ([], parsed)
    options = {k: v for k, v in {"cache": cache, "retries": retries, "stack": stack}.items() if v is not None}
    flow_object = load_flow_object(target)
    handle = flow_object.with_options(**options).run(*positional, **keywords)
    if not out.json:
        out.line(f"Started execution {handle.exec_id} of flow {handle.flow_name!r}.")
        if not wait:
            out.note("It runs in this process: the command returns when it ends or leaves a wait().")
    from kitaru.client import KitaruClient

    stores = handle._stores  # the stack it runs on may not be the active one
    kitaru_client = KitaruClient(store=stores.metadata, artifacts=stores.artifacts)
    ended, announced = _watch(out, kitaru_client, handle, timeout=timeout)
    if not ended:
        assert timeout is not None
        return _give_up(out, kitaru_client, handle, timeout)
    execution = kitaru_client.executions.get(handle.exec_id)
    has_result, result = jsonable_result(kitaru_client, execution)
    if out.json:
        item = {**execution.to_dict(), "result": result}  # the same shape as item_with_result()
        out.item(item)
    elif execution.pending_waits and execution.pending_waits[0].wait_id in announced:
        pass  # reported while the runner waited for the answer here
    elif wait or announced or str(execution.status) != "completed":
        report(out, execution, what="Execution")
        if wait and has_result:
            out.line(f"Result: {dumps(result)}")
    return exit_code(execution)
