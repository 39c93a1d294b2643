"""``kitaru executions input``: answer pending waits, from a script or interactively.

The value is checked as the flow will take it (the wait's JSON schema, then
its own type) before anything is recorded; an invalid value changes nothing
and the execution keeps waiting. When only the schema could be checked here
(the type's code cannot be loaded in this process), a note says so.
When the execution's runner has left, or is gone (orphaned), answering
continues it in this process, so the command waits for the outcome; when a live
runner elsewhere holds it, that runner continues it and the command says so.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._executions import client, refuse_empty_id
from kitaru.cli._humanize import ago
from kitaru.cli._outcome import await_outcome, exit_code, item_with_result, report, runs_here
from kitaru.cli._output import JSON_SOURCES_HELP, Output, OutputOption, UsageProblem, dumps, json_option

__all__ = ["input_"]


def _ask(prompt: str) -> str | None:
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    return None if line == "" else line.strip()


def _noting_warnings(call: Callable[[], Any], note: Callable[[str], None]) -> Any:
    """Run ``call``; pass each warning it gives (e.g. an answer checked by its schema only) to ``note``."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return call()
        finally:  # also when the answer was recorded but the execution could not continue here
            for warning in caught:
                note(f"Note: {warning.message}")


def _answerable(kitaru_client: Any) -> list[Any]:
    """The executions whose pending waits an answer may be for: the waiting ones, and running
    ones whose runner died before it entered its wait again (answering continues those too)."""
    executions = kitaru_client.executions
    orphans = [e for e in executions.list(status="running", limit=None) if e.orphaned]
    return [*executions.list(status="waiting", limit=None), *orphans]


def _single_target(kitaru_client: Any, exec_id: str | None, wait: str | None) -> tuple[str, str | None]:
    """The execution and wait to answer without -i; several candidates are a usage problem."""
    from kitaru.errors import KitaruStateError

    if exec_id is not None:
        pending = kitaru_client.executions.pending_waits(exec_id)
        if wait is None and len(pending) > 1:
            names = ", ".join(repr(w.name) for w in pending)
            raise UsageProblem(
                f"Execution {exec_id} has {len(pending)} pending waits ({names}); say which with "
                "--wait NAME, or answer them one by one with -i."
            )
        return exec_id, wait
    found = [
        (e.exec_id, w)
        for e in _answerable(kitaru_client)
        for w in kitaru_client.executions.pending_waits(e.exec_id)
        if wait is None or wait in (w.name, w.wait_id)
    ]
    if not found:
        raise KitaruStateError("No execution waits for input; nothing to answer.")
    if len(found) > 1:
        listing = ", ".join(f"{e} ({w.name!r})" for e, w in found)
        raise UsageProblem(
            f"{len(found)} pending waits: {listing}. Give an EXEC_ID (and --wait NAME), or use -i."
        )
    return found[0][0], found[0][1].wait_id


def _show_wait(execution: Any, wait: Any) -> None:
    print(
        f"\nExecution {execution.exec_id} (flow {execution.flow_name!r}) waits at {wait.name!r} "
        f"since {ago(wait.since)}",
        file=sys.stderr,
    )
    if wait.question:
        print(f"  Question: {wait.question}", file=sys.stderr)
    schema = dumps(wait.schema, indent=None) if wait.schema else "none (continue or abort)"
    print(f"  Schema:   {schema}", file=sys.stderr)


def _answer(kitaru_client: Any, execution: Any, wait: Any) -> str:
    """Ask for a value until it validates; return the action taken."""
    from kitaru.client import parse_answer_text
    from kitaru.errors import KitaruWaitValidationError

    while True:
        choice = _ask("  [c]ontinue, [a]bort, [s]kip, [q]uit? ")
        if choice is None or choice.lower() in ("q", "quit"):
            return "quit"
        choice = choice.lower()
        if choice in ("s", "skip"):
            return "skipped"
        if choice in ("a", "abort"):
            kitaru_client.executions.abort_wait(execution.exec_id, wait=wait.wait_id)
            return "aborted"
        if choice not in ("c", "continue"):
            print("  Type c, a, s or q.", file=sys.stderr)
            continue
        while True:
            value: Any = None
            if wait.schema is not None:
                raw = _ask("  Value (JSON; plain text for a string) > ")
                if raw is None:
                    return "quit"
                try:
                    # The same reading of typed text as the runner's own terminal prompt.
                    value = parse_answer_text(raw, wait.schema, wait_name=wait.name)
                except KitaruWaitValidationError as exc:
                    print(f"  {exc}", file=sys.stderr)
                    continue
            try:
                _noting_warnings(
                    functools.partial(
                        kitaru_client.executions.input, execution.exec_id, wait=wait.wait_id, value=value
                    ),
                    lambda text: print(f"  {text}", file=sys.stderr),
                )
            except KitaruWaitValidationError as exc:
                print(f"  {exc}", file=sys.stderr)
                if wait.schema is None:
                    break
                continue
            return "continued"


def _interactive(out: Output, kitaru_client: Any, exec_id: str | None, wait: str | None) -> int:
    if exec_id is not None:
        targets = [kitaru_client.executions.get(exec_id, checkpoints=False)]
    else:
        targets = [
            kitaru_client.executions.get(e.exec_id, checkpoints=False) for e in _answerable(kitaru_client)
        ]
    results: list[dict[str, Any]] = []
    answered: dict[str, Any] = {}
    stop = False
    for execution in targets:
        for pending in execution.pending_waits:
            if stop or (wait is not None and wait not in (pending.name, pending.wait_id)):
                continue
            _show_wait(execution, pending)
            action = _answer(kitaru_client, execution, pending)
            if action == "quit":
                stop = True
                continue
            results.append({"exec_id": execution.exec_id, "wait": pending.name, "action": action})
            if action != "skipped":
                answered[execution.exec_id] = execution
    if not results and not stop:
        out.note("No pending waits to answer.")
    final: dict[str, Any] = {}
    for exec_id_done in answered:
        current = kitaru_client.executions.get(exec_id_done, checkpoints=False)
        final[exec_id_done] = await_outcome(out, kitaru_client, current, doing="Continuing")
    for result in results:
        done = final.get(result["exec_id"])
        result["status"] = str(done.status) if done is not None else "waiting"
    if out.json:
        out.items(results)
    else:
        for execution in final.values():
            report(out, execution, what="Execution")
    aborted = {r["exec_id"] for r in results if r["action"] == "aborted"}
    return max((exit_code(e) for i, e in final.items() if i not in aborted), default=0)


def _elsewhere(execution: Any) -> bool:
    """Whether a runner in another process holds the execution and continues it."""
    return (
        not execution.status.is_terminal
        and not execution.pending_waits
        and execution.runner_id is not None
        and not runs_here(execution)
    )


def input_(
    exec_id: Annotated[
        str | None,
        Parameter(
            help="The waiting execution (id or unique prefix); -i without it offers all.",
            validator=refuse_empty_id,
        ),
    ] = None,
    /,
    *,
    value: Annotated[
        str | None,
        Parameter(
            help="The answer as JSON: true, 3, '\"text\"', '{\"a\": 1}'. " + JSON_SOURCES_HELP,
            allow_leading_hyphen=True,
        ),
    ] = None,
    abort: Annotated[bool, Parameter(negative="", help="Abort the wait: wait() raises in the flow.")] = False,
    interactive: Annotated[
        bool, Parameter(name=["--interactive", "-i"], negative="", help="Show each pending wait and ask.")
    ] = False,
    wait: Annotated[
        str | None, Parameter(help="Which pending wait (its name or id) when there are several.")
    ] = None,
    output: OutputOption = "text",
) -> int:
    """Answer a pending wait."""
    out = Output("executions.input", output)
    given = [value is not None, abort, interactive]
    if sum(given) > 1:
        raise UsageProblem("Give only one of --value, --abort and -i.")
    kitaru_client = client()
    if interactive or (sum(given) == 0 and sys.stdin.isatty()):
        return _interactive(out, kitaru_client, exec_id, wait)
    if sum(given) == 0:
        raise UsageProblem("Say what to answer: --value JSON, --abort, or -i to be asked.")
    answer = json_option(value, option="--value") if value is not None else None
    target, which = _single_target(kitaru_client, exec_id, wait)
    if abort:
        execution = kitaru_client.executions.abort_wait(target, wait=which)
    else:
        execution = _noting_warnings(
            lambda: kitaru_client.executions.input(target, wait=which, value=answer), out.note
        )
    execution = await_outcome(out, kitaru_client, execution, doing="Continuing")
    stalled = execution.orphaned and not execution.status.is_terminal and not execution.pending_waits
    if out.json:
        out.item(item_with_result(kitaru_client, execution))
    elif stalled:  # the runner that took the answer died right after
        out.line(
            f"The answer is recorded, but execution {execution.exec_id} is orphaned: its runner "
            f"{execution.runner_id} is gone. Continue it with "
            f"`kitaru executions resume {execution.exec_id}`.",
            style="red",
        )
    elif str(execution.status) == "waiting" and not execution.pending_waits:
        # Taken, not yet continued: the runner that holds it (or this process) goes on with it.
        out.line(
            f"The answer is recorded; execution {execution.exec_id} continues. Follow it with: "
            f"kitaru executions logs {execution.exec_id} --follow"
        )
    elif _elsewhere(execution):
        out.line(
            f"The answer is recorded; runner {execution.runner_id} continues execution "
            f"{execution.exec_id}. Follow it with: kitaru executions logs {execution.exec_id} --follow"
        )
    else:
        report(out, execution, what="Execution")
    if stalled:
        return 1
    if abort and str(execution.status) == "cancelled":
        return 0  # what was asked for: the aborted wait cancelled the execution
    return exit_code(execution)
