"""``kitaru run FILE_OR_MODULE:FLOW``: start a flow from the shell.

A file is run under a module name other than ``__main__`` (so its
``if __name__ == "__main__":`` block does not run) and recorded as the
script it is, so other processes can load it again by path; a module is
imported (the current directory is on the import path).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._outcome import exit_code, jsonable_result, report
from kitaru.cli._output import JSON_SOURCES_HELP, Output, OutputOption, UsageProblem, dumps, json_option

__all__ = ["load_flow_object", "run"]


def _flows_in(namespace: dict[str, Any]) -> dict[str, Any]:
    from kitaru.flow import is_flow

    return {name: obj for name, obj in namespace.items() if is_flow(obj)}


def _namespace(where: str) -> tuple[dict[str, Any], str]:
    if where.endswith(".py") or "/" in where or Path(where).is_file():
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise UsageProblem(f"No such file: {where!r}.")
        from kitaru.flow import run_script

        sys.path.insert(0, str(path.parent))  # as `python FILE` would
        return run_script(str(path)), str(path)
    import importlib

    try:
        module = importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise UsageProblem(
            f"Cannot import module {where!r} ({exc}). Give a FILE.py path, or run from the directory "
            "that makes the module importable."
        ) from None
    return vars(module), where


def load_flow_object(target: str) -> Any:
    """Find the flow named by ``FILE.py:FLOW`` or ``module:FLOW`` (``:FLOW`` optional when
    the file defines exactly one flow)."""
    where, sep, name = target.rpartition(":")
    if not sep:
        where, name = target, ""
    if not where:
        raise UsageProblem(f"{target!r} names no file or module; use FILE.py:FLOW or package.module:FLOW.")
    namespace, label = _namespace(where)
    flows = _flows_in(namespace)
    if not name:
        if len(flows) == 1:
            return next(iter(flows.values()))
        found = ", ".join(sorted(flows)) or "none"
        raise UsageProblem(f"{label} defines flows: {found}; name one as {where}:FLOW.")
    obj = namespace.get(name)
    if obj is None or name not in flows:
        found = ", ".join(sorted(flows)) or "none"
        what = "is not a flow" if obj is not None else "is not defined"
        raise UsageProblem(f"{name!r} {what} in {label}; flows there: {found}.")
    return obj


def _watch(out: Output, kitaru_client: Any, handle: Any) -> None:
    """Block until the execution ends, announcing pending waits while it waits."""
    from kitaru.errors import KitaruExecutionError

    announced: set[str] = set()
    prompts_here = sys.stdin.isatty() and sys.stdout.isatty()  # wait() then asks in this terminal
    if prompts_here:
        # A live spinner would redraw over the prompt of a wait(); say it once instead.
        out.note(f"Waiting for execution {handle.exec_id} to end (Ctrl-C leaves it resumable) …")
    spinner = out.spinner(None if prompts_here else f"Running execution {handle.exec_id} …")
    spinner.start()
    try:
        while True:
            try:
                handle.wait(timeout=0.5)
                return
            except KitaruExecutionError:
                return
            except TimeoutError:
                pass
            waits = kitaru_client.executions.pending_waits(handle.exec_id)
            if waits:
                spinner.stop()
            else:
                spinner.start()
            for wait in waits:
                if wait.wait_id in announced or prompts_here:
                    continue
                announced.add(wait.wait_id)
                question = f": {wait.question}" if wait.question else ""
                out.note(f"Waiting for input at {wait.name!r}{question}")
                out.note(f"Answer with: kitaru executions input {handle.exec_id} --value JSON")
    finally:
        spinner.stop()


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
    wait: Annotated[bool, Parameter(negative="", help="Wait for the end and print the result.")] = False,
    cache: Annotated[bool | None, Parameter(help="Use the cross-execution cache (off by default).")] = None,
    retries: Annotated[int | None, Parameter(help="Re-run the execution this many times on failure.")] = None,
    stack: Annotated[str | None, Parameter(help="Run on this stack instead of the active one.")] = None,
    output: OutputOption = "text",
) -> int:
    """Start a flow."""
    out = Output("run", output)
    parsed = json_option(args, option="--args", kinds=(dict, list)) if args is not None else {}
    positional, keywords = (parsed, {}) if isinstance(parsed, list) else ([], parsed)
    options = {k: v for k, v in {"cache": cache, "retries": retries, "stack": stack}.items() if v is not None}
    flow_object = load_flow_object(target)
    handle = flow_object.with_options(**options).run(*positional, **keywords)
    if not out.json:
        out.line(f"Started execution {handle.exec_id} of flow {handle.flow_name!r}.")
    if not wait:
        if out.json:
            out.item({"exec_id": handle.exec_id, "flow_name": handle.flow_name, "status": str(handle.status)})
        else:
            out.note("It runs in this process: the command returns when it ends or leaves a wait().")
        return 0
    from kitaru.client import KitaruClient

    stores = handle._stores  # the stack it runs on may not be the active one
    kitaru_client = KitaruClient(store=stores.metadata, artifacts=stores.artifacts)
    _watch(out, kitaru_client, handle)
    execution = kitaru_client.executions.get(handle.exec_id)
    has_result, result = jsonable_result(kitaru_client, execution)
    if out.json:
        out.item({**execution.to_dict(), "result": result})  # the same shape as item_with_result()
    else:
        report(out, execution, what="Execution")
        if has_result:
            out.line(f"Result: {dumps(result)}")
    return exit_code(execution)
