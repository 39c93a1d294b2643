"""``kitaru memory ...`` as subprocesses on a real store: every command, text and JSON."""

from __future__ import annotations

import pytest
from tests.cli.conftest import Cli


@pytest.fixture(scope="module")
def cli(cli_in_both_modes: Cli) -> Cli:
    """The module's workspace, locally and connected to a server."""
    return cli_in_both_modes


def test_set_get_list_history_delete(cli: Cli) -> None:
    assert cli("memory", "set", "notes", '"first"', "--scope", "cli-basics").code == 0
    wrote = cli("memory", "set", "notes", '{"steps": 2}', "--scope", "cli-basics", "-o", "json")
    assert wrote.code == 0, wrote
    assert wrote.json["command"] == "memory.set"
    assert (wrote.json["item"]["version"], wrote.json["item"]["scope_type"]) == (2, "namespace")
    cli("memory", "set", "other/key", "3", "--scope", "cli-basics")

    got = cli("memory", "get", "notes", "--scope", "cli-basics", "-o", "json")
    assert got.json["item"]["value"] == {"steps": 2} and got.json["item"]["version"] == 2
    assert cli("memory", "get", "notes", "--scope", "cli-basics", "--version", "1").out.strip() == "first"

    listed = cli("memory", "list", "--scope", "cli-basics", "-o", "json")
    assert [e["key"] for e in listed.json["items"]] == ["notes", "other/key"] and listed.json["count"] == 2
    prefixed = cli("memory", "list", "--scope", "cli-basics", "--prefix", "other/", "-o", "json")
    assert [e["key"] for e in prefixed.json["items"]] == ["other/key"]
    table = cli("memory", "list", "--scope", "cli-basics")
    assert table.code == 0 and "notes" in table.out and "KEY" in table.out

    deleted = cli("memory", "delete", "notes", "--scope", "cli-basics")
    assert deleted.code == 0 and "tombstone version 3" in deleted.out
    gone = cli("memory", "get", "notes", "--scope", "cli-basics")
    assert gone.code == 1 and "was deleted" in gone.err and "kitaru memory history notes" in gone.err
    history = cli("memory", "history", "notes", "--scope", "cli-basics", "-o", "json")
    assert [(e["version"], e["is_deleted"]) for e in history.json["items"]] == [
        (3, True),
        (2, False),
        (1, False),
    ]


def test_scopes_and_scope_types(cli: Cli) -> None:
    cli("memory", "set", "a", "1", "--scope", "cli-scopes", "--scope-type", "flow")
    scopes = cli("memory", "scopes", "-o", "json")
    assert {"scope": "cli-scopes", "scope_type": "flow"}.items() <= next(
        s for s in scopes.json["items"] if s["scope"] == "cli-scopes"
    ).items()
    # The type is found from the name when only one type uses it.
    assert cli("memory", "get", "a", "--scope", "cli-scopes").out.strip() == "1"
    cli("memory", "set", "a", "2", "--scope", "cli-scopes", "--scope-type", "namespace")
    both = cli("memory", "get", "a", "--scope", "cli-scopes", "-o", "json")
    assert both.code == 1 and "scope_type" in both.error["message"]
    assert "cli-scopes" in cli("memory", "scopes").out


def test_errors_are_clear(cli: Cli) -> None:
    bad_key = cli("memory", "set", "has space", "1", "--scope", "cli-errors")
    assert bad_key.code == 1 and "Memory key 'has space' is not valid" in bad_key.err
    reserved = cli("memory", "set", "_compaction/x", "1", "--scope", "cli-errors")
    assert reserved.code == 1 and "reserved" in reserved.err
    not_json = cli("memory", "set", "k", "plain text", "--scope", "cli-errors")
    assert not_json.code == 2 and "Strings need quotes" in not_json.err
    bad_type = cli("memory", "list", "--scope", "x", "--scope-type", "session")
    assert bad_type.code == 1 and "not one of namespace, flow, execution" in bad_type.err
    missing = cli("memory", "get", "nothing", "--scope", "cli-errors")
    assert missing.code == 1 and "does not exist" in missing.err


def test_purge_and_the_log(cli: Cli) -> None:
    for n in range(4):
        cli("memory", "set", "k", str(n), "--scope", "cli-purge")
    cli("memory", "set", "other", "1", "--scope", "cli-purge")
    purged = cli("memory", "purge", "k", "--scope", "cli-purge", "--keep", "2", "-o", "json")
    assert purged.json["item"] == {
        "versions_deleted": 2,
        "keys_affected": 1,
        "scope": "cli-purge",
        "scope_type": "namespace",
    }
    history = cli("memory", "history", "k", "--scope", "cli-purge", "-o", "json")
    assert [e["version"] for e in history.json["items"]] == [4, 3]
    neither = cli("memory", "purge", "--scope", "cli-purge")
    assert neither.code == 2 and "--all" in neither.err
    assert cli("memory", "purge", "k", "--scope", "cli-purge", "--keep", "0").code == 1
    everything = cli("memory", "purge", "--scope", "cli-purge", "--all")
    assert everything.code == 0 and "Deleted 3 versions of 2 keys" in everything.out
    log = cli("memory", "compaction-log", "--scope", "cli-purge", "-o", "json")
    assert [(r["operation"], r["versions_deleted"]) for r in log.json["items"]] == [
        ("purge", 3),
        ("purge", 2),
    ]
    assert "purge" in cli("memory", "compaction-log").out


def test_compact(cli: Cli) -> None:
    pytest.importorskip("kitaru.providers", reason="compaction calls the provider layer (kitaru.providers)")
    mock = {"KITARU_LLM_MOCK_RESPONSE": "- run targeted tests\n- use uv"}
    cli("memory", "set", "conventions/tests", '"targeted first"', "--scope", "cli-compact")
    cli("memory", "set", "conventions/python", '"uv run"', "--scope", "cli-compact")
    done = cli(
        "memory",
        "compact",
        "--keys",
        "conventions/tests",
        "--keys",
        "conventions/python",
        "--target-key",
        "summaries/conventions",
        "--scope",
        "cli-compact",
        "-o",
        "json",
        env=mock,
    )
    assert done.code == 0, done
    assert done.json["item"]["entry"]["key"] == "summaries/conventions"
    assert done.json["item"]["sources_read"] == 2
    value = cli("memory", "get", "summaries/conventions", "--scope", "cli-compact")
    assert value.out.strip() == "- run targeted tests\n- use uv"
    one = cli("memory", "compact", "conventions/tests", "--scope", "cli-compact", env=mock)
    assert one.code == 0 and "version 2" in one.out
    log = cli("memory", "compaction-log", "--scope", "cli-compact", "-o", "json")
    assert [r["operation"] for r in log.json["items"]] == ["compact", "compact"]
    assert log.json["items"][1]["source_keys"] == ["conventions/tests", "conventions/python"]
