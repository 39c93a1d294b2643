"""The command tree, its help texts, and how results and errors become exit codes.

Commands are registered by import path, so ``kitaru --help`` and each command
import only what they use. Exit codes: 0 success, 1 the operation failed (or
the execution it waited for failed or was cancelled), 2 the command line is
wrong, 130 interrupted, 141 the reader of the output left (``| head``), quietly.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["CATALOG", "GROUPS", "VERSION_FLAGS", "build_app", "run"]

#: The options that print Kitaru's version (answered before the command tree is built).
VERSION_FLAGS = ("--version", "-V")


@dataclass(frozen=True, slots=True)
class _Command:
    group: str | None
    name: str
    target: str
    help: str
    examples: tuple[str, ...]


GROUPS = {
    "executions": "List, inspect and act on executions (ids may be unique prefixes).",
    "artifacts": "List, inspect and load the values executions stored.",
    "memory": "Read, write and maintain agents' durable memory (kitaru.memory).",
    "model": "Register model aliases for kitaru.llm() (on the server when connected to one).",
    "secrets": "Store credentials, encrypted at rest (on the server when connected to one).",
    "stack": "Choose where executions are stored: local stacks, or stacks that point at a server.",
    "server": "Run a Kitaru server: storage and API over HTTP for a team (needs kitaru[server]).",
    "server api-key": "Create, list and revoke the API keys of a Kitaru server.",
}

CATALOG: tuple[_Command, ...] = (
    _Command(
        None,
        "init",
        "_system:init",
        "Create a project data directory (.kitaru/) here.\n\n"
        "Executions started anywhere below this directory are then stored in it.",
        ("kitaru init", "kitaru init ~/projects/agent"),
    ),
    _Command(
        None,
        "status",
        "_system:status",
        "Show where data lives, the connection, the active stack and KITARU_* variables.",
        ("kitaru status", "kitaru status -o json"),
    ),
    _Command(
        None,
        "login",
        "_server:login",
        "Talk to a Kitaru server from now on (checks that it accepts the API key, then remembers both).\n\n"
        "Executions started here then run here and are stored by the server; KITARU_SERVER_URL and "
        "kitaru.connect() still win over it.",
        ("kitaru login https://kitaru.example.com --api-key kitaru_...",),
    ),
    _Command(
        None,
        "logout",
        "_server:logout",
        "Forget the server of `kitaru login`: executions are stored locally again.",
        ("kitaru logout",),
    ),
    _Command(
        None,
        "info",
        "_system:info",
        "Show versions of Kitaru, Python and the libraries it uses.",
        ("kitaru info", "kitaru info -o json"),
    ),
    _Command(
        None,
        "run",
        "_run:run",
        "Start a flow: FILE.py:FLOW or package.module:FLOW.\n\n"
        "Prints the exec id at once. The execution runs in this process, so the command "
        "returns when it ends (or leaves a wait()), and exits 1 when it failed or was cancelled; "
        "--wait also prints the result, --timeout cancels the execution after that many seconds.",
        (
            'kitaru run agent.py:research --args \'{"topic": "durable agents"}\' --wait',
            "kitaru run myproject.flows:nightly --args '[3, \"fast\"]' -o json",
            "kitaru run agent.py:research --wait --timeout 600",
        ),
    ),
    _Command(
        None,
        "worker",
        "_worker:worker",
        "Claim queued executions (flows run with execution target 'worker', resumes, retries, "
        "input that arrived after the runner left, orphans whose lease ran out) and run them.\n\n"
        "Serves the active stack's store or the server of `kitaru login`; each claim holds a lease "
        "renewed by heartbeat, so another worker takes over an execution whose worker died. "
        "SIGTERM or Ctrl-C stops it: running executions finish (for up to --grace seconds), then "
        "go back to the queue.",
        (
            "kitaru worker",
            "kitaru worker --concurrency 4",
            "kitaru worker --flows research,nightly",
            "kitaru worker --queue gpu",
        ),
    ),
    _Command(
        "executions",
        "list",
        "_executions:list_",
        "List executions, newest first (filtered by the store).",
        (
            "kitaru executions list",
            "kitaru executions list --flow research --status failed --since 2h",
            "kitaru executions list --limit 5 -o json",
        ),
    ),
    _Command(
        "executions",
        "get",
        "_executions:get",
        "Show one execution: status, inputs, result, checkpoint calls, pending waits and failure.\n\n"
        "Input and result values are cut short; -v shows them in full, with the frozen spec (the "
        "resolved configuration). Long executions show a page of calls (--calls-limit per page, "
        "--page N; 0 for all).",
        (
            "kitaru executions get 3f9a2c1b7e04",
            "kitaru executions get 3f9a2c1b7e04 -v",
            "kitaru executions get 3f9a2c1b7e04 --page 3",
            "kitaru executions get 3f9a2c1b7e04 -o json",
        ),
    ),
    _Command(
        "executions",
        "logs",
        "_executions:logs",
        "Show captured log lines; --follow streams them until the execution ends.\n\n"
        "--source step keeps the lines written inside checkpoints, runner those of the flow "
        "outside them; --grouped groups them by call; -v/-vv show more per line. "
        'With --follow -o json each line is a JSON event {"command", "event", "item"} '
        "(event: log, waiting, terminal, orphaned); "
        "the exit code is 0 when the execution completed, 1 when it failed or was cancelled, "
        "or when its runner died and nothing continues it (resume it).",
        (
            "kitaru executions logs 3f9a2c1b7e04",
            "kitaru executions logs 3f9a2c1b7e04 --checkpoint summarize",
            "kitaru executions logs 3f9a2c1b7e04 --grouped -v",
            "kitaru executions logs 3f9a2c1b7e04 --follow --interval 1 --source step -o json",
        ),
    ),
    _Command(
        "executions",
        "input",
        "_input:input_",
        "Answer a pending wait(): --value JSON, --abort, or -i to be asked.\n\n"
        "Without -i the execution's single pending wait is chosen (name one with --wait). "
        "With -i each pending wait is shown with its question and schema and you choose to "
        "continue, abort, skip or quit; without an EXEC_ID every waiting execution is offered.",
        (
            "kitaru executions input 3f9a2c1b7e04 --value true",
            "kitaru executions input 3f9a2c1b7e04 --wait approval --value '{\"ok\": true}'",
            "kitaru executions input 3f9a2c1b7e04 --abort",
            "kitaru executions input -i",
        ),
    ),
    _Command(
        "executions",
        "resume",
        "_actions:resume",
        "Continue a waiting execution whose input is given, or an orphaned one, here.",
        ("kitaru executions resume 3f9a2c1b7e04",),
    ),
    _Command(
        "executions",
        "retry",
        "_actions:retry",
        "Re-run a failed execution in place, reusing its completed checkpoints.",
        ("kitaru executions retry 3f9a2c1b7e04",),
    ),
    _Command(
        "executions",
        "replay",
        "_actions:replay",
        "Start a new execution from a checkpoint of an old one, with the current code.\n\n"
        "Calls before --from are reused; from it on they run live. --args replaces flow "
        'inputs (a JSON object); --overrides pins outputs ({"checkpoint.NAME": value}).',
        (
            "kitaru executions replay 3f9a2c1b7e04 --from summarize",
            'kitaru executions replay 3f9a2c1b7e04 --from summarize --args \'{"topic": "agents"}\'',
            "kitaru executions replay 3f9a2c1b7e04 --from write "
            '--overrides \'{"checkpoint.outline": ["a"]}\'',
        ),
    ),
    _Command(
        "executions",
        "cancel",
        "_actions:cancel",
        "Cancel an execution; its runner stops at the next durable boundary.",
        ("kitaru executions cancel 3f9a2c1b7e04",),
    ),
    _Command(
        "executions",
        "delete",
        "_retention:delete",
        "Delete executions with their calls, artifacts and log lines, and the blobs nothing else uses.\n\n"
        "An execution that ended can be deleted, and so can one no live runner holds (orphaned, "
        "or waiting with its runner gone); a running one is refused: cancel it first. Cached or "
        "replayed calls of other executions keep a copy of the outputs they use. Asks first in a "
        "terminal; --yes skips the question (needed in scripts and with -o json).",
        (
            "kitaru executions delete 3f9a2c1b7e04",
            "kitaru executions delete 3f9a2c1b7e04 b71c2e9f04d5 --yes -o json",
        ),
    ),
    _Command(
        "executions",
        "prune",
        "_retention:prune",
        "Delete old executions (and the blobs no artifact uses any more).\n\n"
        "Selects executions that ended longer than --older-than ago (90m, 12h, 30d, 2w) with the "
        "given --status (default: completed, failed, cancelled), except the --keep-last N newest "
        "of each flow among them. Running, waiting and pending executions go only when asked for "
        "with --status and no live runner holds them. Also removes blobs no artifact has used for "
        "an hour (left by interrupted writes). --dry-run says what would go, with counts and bytes.",
        (
            "kitaru executions prune --older-than 30d --dry-run",
            "kitaru executions prune --older-than 7d --status failed --status cancelled --yes",
            "kitaru executions prune --keep-last 20 --yes -o json",
        ),
    ),
    _Command(
        "artifacts",
        "list",
        "_artifacts:list_",
        "List the artifacts of an execution.",
        ("kitaru artifacts list 3f9a2c1b7e04", "kitaru artifacts list 3f9a2c1b7e04 --kind output -o json"),
    ),
    _Command(
        "artifacts",
        "get",
        "_artifacts:get",
        "Show an artifact's metadata (not its value).",
        ("kitaru artifacts get 8d41c07a93e2",),
    ),
    _Command(
        "artifacts",
        "load",
        "_artifacts:load",
        "Print an artifact's value (JSON when it is JSON-like), or write it to a file.",
        ("kitaru artifacts load 8d41c07a93e2", "kitaru artifacts load 8d41c07a93e2 --to report.bin"),
    ),
    _Command(
        "memory",
        "scopes",
        "_memory:scopes",
        "List the memory scopes and their keys.",
        ("kitaru memory scopes",),
    ),
    _Command(
        "memory",
        "list",
        "_memory:list_",
        "List the newest version of each live key of a scope.",
        (
            "kitaru memory list --scope repo-notes",
            "kitaru memory list --scope research --prefix notes/ -o json",
        ),
    ),
    _Command(
        "memory",
        "get",
        "_memory:get",
        "Print a key's value (the newest version, or --version N).",
        (
            "kitaru memory get conventions/tests --scope repo-notes",
            "kitaru memory get count --scope research --version 2",
        ),
    ),
    _Command(
        "memory",
        "set",
        "_memory:set_",
        "Write a new version of a key; the value is JSON.",
        (
            "kitaru memory set conventions/tests '\"run the targeted tests first\"' --scope repo-notes",
            "kitaru memory set limits '{\"max_steps\": 20}' --scope research --scope-type flow",
        ),
    ),
    _Command(
        "memory",
        "delete",
        "_memory:delete",
        "Delete a key (a tombstone version; the history stays).",
        ("kitaru memory delete scratch/draft --scope repo-notes",),
    ),
    _Command(
        "memory",
        "history",
        "_memory:history",
        "List every version of a key, newest first, deletions included.",
        ("kitaru memory history conventions/tests --scope repo-notes",),
    ),
    _Command(
        "memory",
        "purge",
        "_memory:purge",
        "Delete old versions of a key (--keep N stay), or every key of a scope (--all).",
        (
            "kitaru memory purge conventions/tests --scope repo-notes --keep 2",
            "kitaru memory purge --scope scratch --all",
        ),
    ),
    _Command(
        "memory",
        "compact",
        "_memory:compact",
        "Summarise a key's versions (or several keys' values) with a model into a new version.",
        (
            "kitaru memory compact notes --scope research",
            "kitaru memory compact --keys conventions/tests --keys conventions/python "
            "--target-key summaries/conventions --scope repo-notes --model fast",
        ),
    ),
    _Command(
        "memory",
        "compaction-log",
        "_memory:compaction_log",
        "List memory compactions and purges, newest first.",
        ("kitaru memory compaction-log --scope repo-notes",),
    ),
    _Command(
        "model",
        "register",
        "_models:register",
        "Register (or replace) a model alias; the first one becomes the default.\n\n"
        "Connected to a server (a server stack, kitaru login, KITARU_SERVER_URL), the alias is "
        "registered on the server, where every flow it stores finds it.",
        (
            "kitaru model register fast --model openai/gpt-4o-mini --secret openai",
            "kitaru model register local --model ollama/llama3.1 --default",
        ),
    ),
    _Command("model", "list", "_models:list_", "List model aliases.", ("kitaru model list",)),
    _Command(
        "secrets",
        "set",
        "_secrets:set_",
        "Create or replace a secret from KEY=VALUE (or --KEY=VALUE) pairs.\n\n"
        "A bare KEY asks for its value without echo (on a terminal) or reads one line of stdin, "
        "which keeps the value out of your shell history. Connected to a server (a server stack, "
        "kitaru login, KITARU_SERVER_URL), the secret is kept by the server, which hands its values "
        "only to runners with an API key.",
        (
            "kitaru secrets set openai OPENAI_API_KEY",
            "kitaru secrets set db --username=admin --password=s3cret",
            "printf 'sk-…' | kitaru secrets set openai OPENAI_API_KEY",
        ),
    ),
    _Command(
        "secrets",
        "show",
        "_secrets:show",
        "Show a secret's keys; values only with --show-values.",
        ("kitaru secrets show openai", "kitaru secrets show openai --show-values"),
    ),
    _Command("secrets", "list", "_secrets:list_", "List secrets (names and keys).", ("kitaru secrets list",)),
    _Command("secrets", "delete", "_secrets:delete", "Delete a secret.", ("kitaru secrets delete openai",)),
    _Command(
        "stack", "list", "_stacks:list_", "List stacks; the active one is marked.", ("kitaru stack list",)
    ),
    _Command(
        "stack",
        "current",
        "_stacks:current",
        "Show the active stack and what chose it.",
        ("kitaru stack current",),
    ),
    _Command(
        "stack",
        "show",
        "_stacks:show",
        "Show a stack by name or id (the active one without a name).",
        ("kitaru stack show", "kitaru stack show scratch"),
    ),
    _Command(
        "stack",
        "use",
        "_stacks:use",
        "Make a stack the active one for this data directory.",
        ("kitaru stack use scratch",),
    ),
    _Command(
        "stack",
        "create",
        "_stacks:create",
        "Create a stack and make it active: a local one (by default under <data dir>/stacks/NAME/), "
        "or, with --server, one that points at a Kitaru server.\n\n"
        "A server stack's URL and key are its settings, the lowest layer: kitaru login, "
        "KITARU_SERVER_URL / KITARU_API_KEY and kitaru.connect() take precedence (kitaru status "
        "shows which one chose the server). The key is kept in config.json, readable by you only, "
        "and never shown.",
        (
            "kitaru stack create scratch",
            "kitaru stack create team --store-url postgresql+psycopg://ada@db/kitaru --no-activate",
            "kitaru stack create shared --server https://kitaru.example.com --api-key kitaru_...",
            "kitaru stack create ci --retries 2 --no-cache",
        ),
    ),
    _Command(
        "stack",
        "delete",
        "_stacks:delete",
        "Delete a stack's entry (its data stays on disk unless --recursive).",
        ("kitaru stack delete scratch", "kitaru stack delete scratch --force --recursive"),
    ),
    _Command(
        "server",
        "start",
        "_server:start",
        "Run the Kitaru server in the foreground: the REST API over a SQLite or PostgreSQL store.\n\n"
        "Migrates the store first. Every request needs an API key (kitaru server api-key create) "
        "unless --no-auth, which is allowed on the loopback interface only.",
        (
            "kitaru server start",
            "kitaru server start --host 0.0.0.0 --port 8383 "
            "--store-url postgresql+psycopg://kitaru@db/kitaru --artifacts /srv/kitaru/blobs",
            "kitaru server start --no-auth",
            "kitaru server start --detach --workers 4 --store-url postgresql+psycopg://kitaru@db/kitaru",
        ),
    ),
    _Command(
        "server",
        "stop",
        "_server:stop",
        "Stop the server started with `kitaru server start --detach` from this data directory "
        "(SIGTERM; waits until it has finished what it started).",
        ("kitaru server stop",),
    ),
    _Command(
        "server",
        "status",
        "_server:status",
        "Show whether the detached server of this data directory runs: its URL, pid, store, log "
        "and health check (exit code 1 when it does not run).",
        ("kitaru server status", "kitaru server status -o json"),
    ),
    _Command(
        "server api-key",
        "create",
        "_server:key_create",
        "Create an API key and print its token once (the store keeps only its sha256 digest).",
        (
            "kitaru server api-key create ci",
            "kitaru server api-key create ada --store-url postgresql+psycopg://kitaru@db/kitaru -o json",
        ),
    ),
    _Command(
        "server api-key",
        "list",
        "_server:key_list",
        "List the API keys of the server's store (never their tokens).",
        ("kitaru server api-key list", "kitaru server api-key list -o json"),
    ),
    _Command(
        "server api-key",
        "revoke",
        "_server:key_revoke",
        "Revoke an API key: the server refuses its token from then on (within 5 seconds).",
        ("kitaru server api-key revoke ci",),
    ),
)


def _epilogue(examples: tuple[str, ...]) -> str:
    return "Examples:\n" + "\n".join(f"  {e}" for e in examples)


def build_app() -> object:
    """Build the ``kitaru`` command tree (commands are imported when they run)."""
    from cyclopts import App

    from kitaru import __version__

    app = App(
        name="kitaru",
        help="Kitaru: durable execution for Python AI agents.\n\nEvery command takes -o json for scripts.",
        version=__version__,
        version_flags=list(VERSION_FLAGS),
        help_format="plaintext",
        help_epilogue=_epilogue(
            (
                "kitaru run agent.py:research --wait",
                "kitaru executions list",
                "kitaru executions get 3f9a2c1b7e04",
            )
        ),
    )
    groups = {
        name: App(
            name=name.rpartition(" ")[2],
            help=text,
            help_format="plaintext",
            # Its own examples (one per command), not the root's it would inherit.
            help_epilogue=_epilogue(tuple(c.examples[0] for c in CATALOG if c.group == name)),
        )
        for name, text in GROUPS.items()
    }
    for command in CATALOG:
        parent = app if command.group is None else groups[command.group]
        parent.command(
            f"kitaru.cli.{command.target}",
            name=command.name,
            help=command.help,
            help_format="plaintext",
            help_epilogue=_epilogue(command.examples),
        )
    # Nested groups ("server api-key") go under their parent group, the others under the root.
    for name, group in groups.items():
        parent_name, _, _ = name.rpartition(" ")
        (groups[parent_name] if parent_name else app).command(group)
    return app


def _format_of(tokens: list[str]) -> str:
    for i, token in enumerate(tokens):
        if token in ("-o", "--output") and i + 1 < len(tokens):
            return tokens[i + 1]
        if token.startswith("--output="):
            return token.split("=", 1)[1]
        if token.startswith("-o") and len(token) > 2:
            return token[2:]
    return "text"


def _output_option_last(tokens: list[str]) -> list[str]:
    """``kitaru -o json executions list``: an output option before the command applies to it."""
    if tokens[:1] in (["-o"], ["--output"]) and len(tokens) >= 3:
        option, rest = tokens[:2], tokens[2:]
    elif tokens and len(tokens) >= 2 and (tokens[0].startswith(("--output=", "-o")) and tokens[0] != "-o"):
        option, rest = tokens[:1], tokens[1:]
    else:
        return tokens
    end = rest.index("--") if "--" in rest else len(rest)
    return [*rest[:end], *option, *rest[end:]]


def _command_of(tokens: list[str]) -> str:
    words = [t for t in tokens[:2] if not t.startswith("-")]
    if words and words[0] in GROUPS:
        names = {c.name for c in CATALOG if c.group == words[0]}
        return ".".join(words[:2]) if len(words) > 1 and words[1] in names else words[0]
    if words and any(c.group is None and c.name == words[0] for c in CATALOG):
        return words[0]
    return "kitaru"


def run(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    from kitaru.cli._help_cache import cached_root_help

    tokens = list(sys.argv[1:] if argv is None else argv)
    page = cached_root_help(tokens)
    if len(tokens) == 1 and tokens[0] in VERSION_FLAGS:
        from kitaru import __version__

        page = f"{__version__}\n"
    if page is not None:  # before anything imports cyclopts
        try:
            sys.stdout.write(page)
            sys.stdout.flush()
        except BrokenPipeError:
            return _reader_gone()
        return 0

    from kitaru.cli._output import Output

    tokens = _output_option_last(tokens)
    command = _command_of(tokens)
    if command == "secrets.set":
        from kitaru.cli._secrets import pairs_from_options

        tokens = pairs_from_options(tokens)
    stdout = sys.stdout
    out = Output(command, "json" if _format_of(tokens) == "json" else "text")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # flows of the current project can be imported
    help_hint = f"Run 'kitaru {command.replace('.', ' ')} --help' for usage." if command != "kitaru" else None
    try:
        code = _run(tokens, out, help_hint)
        stdout.flush()  # a reader that left shows here, not as a traceback when Python exits
        return code
    except BrokenPipeError:
        return _reader_gone()
    finally:
        if sys.stdout is sys.stderr:  # JSON mode pointed it there; the runtime did not wrap it since
            sys.stdout = stdout


def _reader_gone() -> int:
    """The reader of stdout left (``kitaru executions list | head -1``): stop quietly.

    What is still buffered for stdout goes to the null device (Python flushes it
    at exit, which would fail again), and the exit code is the one of a command
    that SIGPIPE ended (128 + 13), as shells report it.
    """
    import signal

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ is not None else 1)
    finally:
        os.close(devnull)
    return 128 + signal.SIGPIPE


def _root_help(tokens: list[str]) -> int:
    """Print the root help page (cached: see :mod:`kitaru.cli._help_cache`) and return 0."""
    import io

    from kitaru.cli._help_cache import store_root_help

    stdout, sys.stdout = sys.stdout, io.StringIO()
    try:
        build_app()(tokens, exit_on_error=False, print_error=False, result_action="return_value")  # type: ignore[operator]
        text = sys.stdout.getvalue()
    finally:
        sys.stdout = stdout
    sys.stdout.write(text)
    store_root_help(text)
    return 0


def _run(tokens: list[str], out: Any, help_hint: str | None) -> int:
    from kitaru.cli._help_cache import ROOT_HELP

    if tokens in ROOT_HELP and not sys.stdout.isatty():  # a terminal gets the colours, live
        return _root_help(tokens)

    from cyclopts import CycloptsError

    from kitaru.cli._output import UsageProblem
    from kitaru.errors import KitaruError

    try:
        app = build_app()
        result = app(tokens, exit_on_error=False, print_error=False, result_action="return_value")  # type: ignore[operator]
    except CycloptsError as exc:
        out.error(str(exc).strip(), "UsageError", hint=help_hint or "Run 'kitaru --help' for usage.")
        return 2
    except UsageProblem as exc:
        out.error(str(exc), "UsageError", hint=help_hint)
        return 2
    except KeyboardInterrupt:
        out.error("Interrupted.", "KeyboardInterrupt")
        return 130
    except BrokenPipeError:
        raise  # the reader of stdout left: see run()
    except KitaruError as exc:
        # The public class of the error tree (kitaru.errors) that it is, not a private subclass.
        public = next(c for c in type(exc).__mro__ if c.__module__ == "kitaru.errors")
        from kitaru.cli._wording import cli_wording

        out.error(cli_wording(str(exc)), public.__name__)  # the commands to run, not Python calls
        return 1
    except Exception as exc:
        if os.environ.get("KITARU_DEBUG"):
            raise
        out.error(
            f"{type(exc).__name__}: {exc}",
            type(exc).__name__,
            hint="Set KITARU_DEBUG=1 to see the traceback.",
        )
        return 1
    return result if isinstance(result, int) else 0
