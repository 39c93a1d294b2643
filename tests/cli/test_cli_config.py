"""``kitaru artifacts``, ``model``, ``secrets`` and ``stack`` as subprocesses on a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli, make_workspace


def test_artifacts_list_get_load(cli: Cli, tmp_path: Path) -> None:
    (exec_id,) = cli.seed(("greet", {"name": "Ada"}))
    listed, listed_json, outputs = cli.many(
        ("artifacts", "list", exec_id),
        ("artifacts", "list", exec_id, "-o", "json"),
        ("artifacts", "list", exec_id[:30], "--kind", "result", "-o", "json"),
    )
    assert listed.code == 0 and listed.out.split()[:6] == ["ARTIFACT", "ID", "NAME", "KIND", "TYPE", "SIZE"]
    kinds = {item["kind"] for item in listed_json.json["items"]}
    assert {"input", "output", "result"} <= kinds
    assert outputs.json["count"] == 1
    result_id = outputs.json["items"][0]["artifact_id"]
    target = tmp_path / "result.txt"
    shown, as_json, loaded, loaded_json, written, unknown, no_exec = cli.many(
        ("artifacts", "get", result_id),
        ("artifacts", "get", result_id, "-o", "json"),
        ("artifacts", "load", result_id),
        ("artifacts", "load", result_id, "-o", "json"),
        ("artifacts", "load", result_id, "--to", str(target)),
        ("artifacts", "get", "no-such-artifact", "-o", "json"),
        ("artifacts", "list", "ffffffff"),
    )
    assert shown.code == 0 and f"Artifact    {result_id}" in shown.out and "Kind        result" in shown.out
    assert as_json.json["item"]["exec_id"] == exec_id and as_json.json["command"] == "artifacts.get"
    assert loaded.out == "Hello, ADA!\n"
    assert loaded_json.json == {
        "command": "artifacts.load",
        "item": {"artifact_id": result_id, "value": "Hello, ADA!", "repr": None},
    }
    assert written.code == 0 and target.read_text() == "Hello, ADA!"
    assert unknown.code == 1 and unknown.error["type"] == "KitaruStateError"
    assert no_exec.code == 1 and "No execution id starts with 'ffffffff'" in no_exec.err


def test_models(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    empty = cli("model", "list")
    assert empty.code == 0 and "No model aliases" in empty.out
    first = cli("model", "register", "fast", "--model", "openai/gpt-4o-mini", "--secret", "openai")
    assert (
        first.code == 0
        and first.out.strip() == "Registered model alias 'fast' → openai/gpt-4o-mini (default)."
    )
    assert "secret 'openai' does not exist yet" in first.err
    second, bad_provider, bad_model = cli.many(
        ("model", "register", "local", "--model", "ollama/llama3.1", "-o", "json"),
        ("model", "register", "x", "--model", "acme/m1"),
        ("model", "register", "y", "--model", "no-slash", "-o", "json"),
    )
    assert second.json["item"] == {
        "alias": "local",
        "model": "ollama/llama3.1",
        "secret": None,
        "base_url": None,
        "default": False,
    }
    assert (
        bad_provider.code == 1
        and "Unknown provider 'acme'" in bad_provider.err
        and "--base-url" in bad_provider.err
    )
    assert bad_model.code == 1 and bad_model.error["type"] == "KitaruUsageError"
    text, as_json = cli.many(("model", "list"), ("model", "list", "-o", "json"))
    assert text.out.split("\n")[0].split() == ["ALIAS", "MODEL", "SECRET", "BASE", "URL", "DEFAULT"]
    assert "fast   openai/gpt-4o-mini  openai" in text.out
    assert [(m["alias"], m["default"]) for m in as_json.json["items"]] == [("fast", True), ("local", False)]


def test_secrets_never_print_values_unless_asked(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    stored = cli("secrets", "set", "openai", "OPENAI_API_KEY=sk-top-secret", "ORG", stdin="acme-org\n")
    assert stored.code == 0, stored
    assert stored.out.strip() == "Stored secret 'openai' with keys OPENAI_API_KEY, ORG (encrypted)."
    assert "sk-top-secret" not in (cli.home / "secrets.json").read_text()
    shown, shown_json, revealed, listed, listed_json = cli.many(
        ("secrets", "show", "openai"),
        ("secrets", "show", "openai", "-o", "json"),
        ("secrets", "show", "openai", "--show-values", "-o", "json"),
        ("secrets", "list"),
        ("secrets", "list", "-o", "json"),
    )
    for result in (shown, shown_json, listed, listed_json):
        assert result.code == 0, result
        assert "sk-top-secret" not in result.out + result.err and "acme-org" not in result.out
    assert "OPENAI_API_KEY  ***" in shown.out
    assert shown_json.json["item"]["values"] == {"OPENAI_API_KEY": "***", "ORG": "***"}
    assert revealed.json["item"]["values"] == {"OPENAI_API_KEY": "sk-top-secret", "ORG": "acme-org"}
    assert "openai  OPENAI_API_KEY, ORG" in listed.out
    assert listed_json.json["items"][0]["keys"] == ["OPENAI_API_KEY", "ORG"]
    missing_value, bad_key, unknown = cli.many(
        ("secrets", "set", "db", "PASSWORD"),
        ("secrets", "set", "db", "bad-key=1", "-o", "json"),
        ("secrets", "show", "nope"),
    )
    assert missing_value.code == 2 and "No value for PASSWORD" in missing_value.err
    assert bad_key.code == 1 and "key 'bad-key' is not valid" in bad_key.error["message"]
    assert unknown.code == 1 and "No secret named 'nope' (secrets: openai)" in unknown.err
    deleted = cli("secrets", "delete", "openai", "-o", "json")
    assert deleted.json == {"command": "secrets.delete", "item": {"name": "openai", "deleted": True}}
    again = cli("secrets", "delete", "openai")
    assert again.code == 1 and "nothing deleted" in again.err


def test_stacks(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    created = cli("stack", "create", "scratch", "--retries", "2", "--no-cache")
    assert created.code == 0, created
    assert "Created stack 'scratch' and made it active." in created.out and "retries=2" in created.out
    made_json, duplicate, bad_url = cli.many(
        ("stack", "create", "team", "--store-url", str(tmp_path / "team.db"), "-o", "json"),
        ("stack", "create", "scratch"),
        ("stack", "create", "mongo", "--store-url", "mongodb://db", "-o", "json"),
    )
    assert made_json.json["item"]["store_url"] == f"sqlite:///{tmp_path / 'team.db'}"
    assert duplicate.code == 1 and "already exists" in duplicate.err
    assert bad_url.code == 1 and "is not supported" in bad_url.error["message"]
    used = cli("stack", "use", "scratch")
    assert used.code == 0 and used.out.strip() == "Active stack: scratch."
    listed, listed_json, current, current_json = cli.many(
        ("stack", "list"),
        ("stack", "list", "-o", "json"),
        ("stack", "current"),
        ("stack", "current", "-o", "json"),
    )
    assert [line.split()[:2] for line in listed.out.splitlines()[1:]] == [
        ["default", "local"],
        ["*", "scratch"],
        ["team", "local"],
    ]
    assert [s["name"] for s in listed_json.json["items"] if s["active"]] == ["scratch"]
    assert "Stack      scratch" in current.out and "Chosen by  `kitaru stack use`" in current.out
    assert current_json.json["item"]["settings"] == {"cache": False, "retries": 2}
    # An execution started now uses the stack's store and settings.
    ran = cli("run", "flows.py:greet", "--args", '{"name": "S"}', "--wait", "-o", "json")
    assert ran.json["item"]["spec"]["options"] == {
        "cache": False,
        "retries": 2,
        "stack": "scratch",
        "image": None,
    }
    assert (cli.home / "stacks" / "scratch" / "kitaru.db").exists()
    env_wins = cli("stack", "use", "team", env={"KITARU_STACK": "default"})
    assert (
        env_wins.code == 0 and "KITARU_STACK selects stack 'default', which takes precedence" in env_wins.err
    )
    busy, gone, unknown = cli.many(
        ("stack", "delete", "team"), ("stack", "delete", "scratch", "-o", "json"), ("stack", "use", "ghost")
    )
    assert busy.code == 1 and "is the active stack" in busy.err
    assert gone.json == {
        "command": "stack.delete",
        "item": {"name": "scratch", "deleted": True, "deleted_paths": []},
    }
    assert unknown.code == 1 and "No stack named 'ghost'" in unknown.err
    assert json.loads(cli("stack", "list", "-o", "json").out)["count"] == 2


def test_status_shows_image_settings_as_data_with_secrets_redacted(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    image = '{"base_image": "python:3.12", "environment": {"HF_TOKEN": "hf-abc", "REGION": "eu"}}'
    shown = cli("status", "-o", "json", env={"KITARU_IMAGE": image})
    assert shown.code == 0, shown
    assert shown.json["item"]["settings"]["image"] == {
        "value": {"base_image": "python:3.12", "environment": {"HF_TOKEN": "***", "REGION": "eu"}},
        "source": "environment variable KITARU_IMAGE",
    }
    assert "hf-abc" not in shown.out
    text = cli("status", env={"KITARU_IMAGE": image})
    assert text.code == 0 and "hf-abc" not in text.out and "REGION" in text.out
    bad = cli("status", env={"KITARU_IMAGE": '{"parent_image": "x"}'})
    assert bad.code == 1 and "environment variable KITARU_IMAGE" in bad.err and "parent_image" in bad.err
