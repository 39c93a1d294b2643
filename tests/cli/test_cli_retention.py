"""``kitaru executions delete | prune`` as subprocesses on a real store."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from tests._helpers import wait_until
from tests.cli.conftest import Cli, kitaru_command, make_workspace


@pytest.fixture(scope="module")
def cli(cli_in_both_modes: Cli) -> Cli:
    """The module's workspace, locally and connected to a server."""
    return cli_in_both_modes


FLOWS = textwrap.dedent(
    """
    import time
    from pathlib import Path

    from kitaru import checkpoint, flow

    HERE = Path(__file__).parent


    @checkpoint
    def make(text: str) -> str:
        print(f"making {text}")
        return text * 100_000


    @flow
    def blobby(text: str) -> int:
        return len(make(text))


    @checkpoint
    def tick(i: int) -> int:
        return i


    @flow
    def slow(marker: str) -> int:
        i = 0
        while not (HERE / marker).exists():
            i += tick(i)
            time.sleep(0.05)
        return i
    """
)


@pytest.fixture
def ws(tmp_path: Path) -> Cli:
    cli = make_workspace(tmp_path / "ws")
    (cli.workspace / "retention_flows.py").write_text(FLOWS, encoding="utf-8")
    return cli


def _run(cli: Cli, flow: str, args: str) -> str:
    return cli.started(f"retention_flows.py:{flow}", "--args", args)


def _ids(cli: Cli) -> list[str]:
    listed = cli("executions", "list", "-o", "json")
    assert listed.code == 0, listed
    return [e["exec_id"] for e in listed.json["items"]]


def _count(cli: Cli, table: str, exec_id: str) -> int:
    with sqlite3.connect(cli.home / "kitaru.db") as db:
        return int(db.execute(f"SELECT count(*) FROM {table} WHERE exec_id = ?", (exec_id,)).fetchone()[0])


def _blobs(cli: Cli) -> list[Path]:
    return sorted(
        p for p in (cli.home / "artifacts").rglob("*") if p.is_file() and not p.name.startswith(".")
    )


def test_delete_by_prefix_with_rows_logs_and_unshared_blobs(ws: Cli) -> None:
    first, second, other = (_run(ws, "blobby", f'{{"text": "{t}"}}') for t in ("a", "a", "b"))
    assert len(_blobs(ws)) == 2 and _count(ws, "logs", first) == 1
    refused = ws("executions", "delete", first[:13])
    assert refused.code == 2 and "--yes" in refused.err  # no terminal to ask on
    assert _ids(ws) == [other, second, first]

    deleted = ws("executions", "delete", first[:13], "--yes", "-o", "json")
    assert deleted.code == 0, deleted
    item = deleted.json["item"]
    assert deleted.json["command"] == "executions.delete"
    assert item["exec_ids"] == [first] and item["executions"] == 1 and item["by_flow"] == {"blobby": 1}
    assert (item["calls"], item["artifacts"], item["logs"], item["blobs"]) == (1, 3, 1, 0)
    assert [_count(ws, table, first) for table in ("executions", "calls", "artifacts", "logs")] == [
        0,
        0,
        0,
        0,
    ]
    assert len(_blobs(ws)) == 2  # "a" is still used by the second execution
    loaded = ws("executions", "get", second, "-o", "json")
    assert loaded.code == 0 and loaded.json["item"]["status"] == "completed"
    (output,) = loaded.json["item"]["checkpoints"][0]["artifacts"]
    value = ws("artifacts", "load", output["artifact_id"])
    assert value.code == 0 and value.out.strip() == "a" * 100_000

    text = ws("executions", "delete", second, other[:20], "--yes")
    assert text.code == 0, text
    assert text.out.startswith(
        "Deleted 2 executions (blobby 2): 2 calls, 2 attempts, 6 artifacts, 2 log lines;"
    )
    assert "2 blobs freed (195.3 KiB)" in text.out
    assert _ids(ws) == [] and _blobs(ws) == []
    missing = ws("executions", "delete", first, "--yes", "-o", "json")
    assert missing.code == 1 and missing.error["type"] == "KitaruStateError"
    assert f"No execution id starts or ends with '{first}'" in missing.error["message"]


def test_prune_dry_run_older_than_status_and_keep_last(ws: Cli) -> None:
    done = [_run(ws, "blobby", f'{{"text": "{t}"}}') for t in ("p", "q", "r")]
    failed_id = _run(ws, "blobby", '{"text": null}')  # None * 100_000 fails
    assert ws("executions", "get", failed_id, "-o", "json").json["item"]["status"] == "failed"

    dry = ws("executions", "prune", "--older-than", "0s", "--dry-run", "-o", "json")
    assert dry.code == 0, dry
    assert dry.json["item"]["dry_run"] and dry.json["item"]["exec_ids"] == [*done, failed_id]
    assert dry.json["item"]["blobs"] == 3 and dry.json["item"]["bytes_freed"] == 3 * 100_002
    text = ws("executions", "prune", "--older-than", "0s", "--dry-run")
    assert text.out.startswith("Would delete 4 executions (blobby 4):") and "Dry run" in text.err
    assert all(exec_id in text.out for exec_id in done)
    unasked = ws("executions", "prune", "--older-than", "0s")
    assert unasked.code == 2 and "pass --yes" in unasked.err and unasked.out == ""
    assert len(_ids(ws)) == 4 and len(_blobs(ws)) == 3  # nothing deleted

    young = ws("executions", "prune", "--older-than", "1d", "--yes")
    assert young.code == 0 and young.out.strip() == "Nothing to delete."
    only_failed = ws("executions", "prune", "--older-than", "0s", "--status", "failed", "--yes", "-o", "json")
    assert only_failed.json["item"]["exec_ids"] == [failed_id]
    keep = ws(
        "executions", "prune", "--keep-last", "1", "--status", "completed", "cancelled", "--yes", "-o", "json"
    )
    assert keep.code == 0, keep
    assert keep.json["item"]["exec_ids"] == done[:2] and keep.json["item"]["blobs"] == 2
    assert _ids(ws) == [done[2]] and len(_blobs(ws)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--older-than DURATION, --keep-last N"),
        (("--older-than", "30"), "Invalid duration '30'"),
        (("--older-than", "1.5d"), "Invalid duration '1.5d'"),
        (("--older-than", "2 weeks"), "whole number and a unit"),
        (("--keep-last", "-1"), "keep_last must be"),
        (("--older-than", "1d", "--status", "done"), "done"),
    ],
)
def test_prune_says_what_is_wrong_with_its_options(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli("executions", "prune", *args)
    assert result.code == 2, result
    assert message in result.err


def test_a_live_running_execution_is_refused_until_it_ended(ws: Cli) -> None:
    runner = ws.popen("run", "retention_flows.py:slow", "--args", '{"marker": "stop"}')
    try:
        exec_id = wait_until(lambda: next(iter(_ids(ws)), None), timeout=30)
        wait_until(lambda: _count(ws, "calls", exec_id) > 0, timeout=30)
        refused = ws("executions", "delete", exec_id, "--yes", "-o", "json")
        assert refused.code == 1 and refused.error["type"] == "KitaruStateError"
        assert "which is alive" in refused.error["message"]
        assert f"kitaru executions cancel {exec_id}" in refused.error["message"]
        skipped = ws("executions", "prune", "--older-than", "0s", "--status", "running", "--yes")
        assert skipped.code == 0 and skipped.out.strip() == "Nothing deleted."
        assert f"Kept {exec_id}: running in runner" in skipped.err
        assert _ids(ws) == [exec_id]
        runner.send_signal(signal.SIGKILL)  # now it is orphaned: nobody writes to it any more
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=30)
    orphaned = ws("executions", "get", exec_id, "-o", "json")
    assert orphaned.json["item"]["orphaned"]
    deleted = ws("executions", "delete", exec_id, "--yes")
    assert deleted.code == 0, deleted
    assert _ids(ws) == [] and _count(ws, "calls", exec_id) == 0


def test_help_shows_examples(cli: Cli) -> None:
    delete, prune = cli.many(("executions", "delete", "--help"), ("executions", "prune", "--help"))
    assert delete.code == 0 and "kitaru executions delete 3f9a2c1b7e04" in delete.out
    assert prune.code == 0 and "kitaru executions prune --older-than 30d --dry-run" in prune.out
    assert "--keep-last" in prune.out and "--dry-run" in prune.out


def _in_terminal(cli: Cli, *args: str, answer: bytes) -> tuple[int, str]:
    """Run ``kitaru ARGS`` on a pseudo-terminal, answer its question, return code and output."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [*kitaru_command(), *args],
        cwd=cli.workspace,
        env=cli.env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while True:
            if b"[y/N]" in seen and answer:
                os.write(primary, answer)
                answer = b""
            remaining = deadline - time.monotonic()
            assert remaining > 0, seen
            ready, _, _ = select.select([primary], [], [], remaining)
            try:
                chunk = os.read(primary, 4096) if ready else b""
            except OSError:  # the command ended and closed the terminal
                break
            if ready and not chunk:
                break
            seen += chunk
        return proc.wait(timeout=30), seen.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)


def test_in_a_terminal_both_ask_first(ws: Cli) -> None:
    first, _ = (_run(ws, "blobby", f'{{"text": "{t}"}}') for t in ("t", "u"))
    code, shown = _in_terminal(ws, "executions", "delete", first, answer=b"n\n")
    assert code == 2 and f"{first}  blobby  completed" in shown and "Nothing deleted." in shown
    assert "Delete 1 execution with its calls, artifacts and log lines? [y/N]" in shown
    code, shown = _in_terminal(ws, "executions", "prune", "--older-than", "0s", answer=b"y\n")
    assert code == 0, shown
    assert "Would delete 2 executions (blobby 2)" in shown and "Delete them? [y/N]" in shown
    assert "Deleted 2 executions (blobby 2)" in shown and "Dry run" not in shown
    assert _ids(ws) == [] and _blobs(ws) == []
