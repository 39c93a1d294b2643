"""``kitaru stack create | show | delete`` as the original's users type them: create
activates unless ``--no-activate``; ``show [NAME-OR-ID]``; ``delete --force`` /
``--recursive``."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import make_workspace


def test_create_activates_unless_no_activate_and_show_finds_a_stack_by_name_or_id(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    made = cli("stack", "create", "first", "-o", "json")
    assert made.code == 0, made
    first = made.json["item"]
    assert first["active"] is True and len(first["id"]) == 36
    quiet = cli("stack", "create", "second", "--no-activate")
    assert quiet.code == 0 and "Created stack 'second'." in quiet.out and "made it active" not in quiet.out
    active, by_name, by_id, by_prefix, ghost = cli.many(
        ("stack", "show", "-o", "json"),
        ("stack", "show", "second", "-o", "json"),
        ("stack", "show", first["id"]),
        ("stack", "show", first["id"][:8], "-o", "json"),
        ("stack", "show", "ghost"),
    )
    assert active.json["item"]["name"] == "first" and active.json["item"]["id"] == first["id"]
    assert by_name.json["item"]["name"] == "second" and by_name.json["item"]["active"] is False
    assert "Stack      first" in by_id.out and f"Id         {first['id']}" in by_id.out
    assert "Active     yes" in by_id.out
    assert by_prefix.json["item"]["name"] == "first"
    assert ghost.code == 1 and "No stack named 'ghost'" in ghost.err and "kitaru stack list" in ghost.err
    listed = cli("stack", "list", "-o", "json")
    assert {s["name"]: s["id"] for s in listed.json["items"]}["first"] == first["id"]


def test_delete_force_deletes_the_active_stack_and_recursive_its_data(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    assert cli("stack", "create", "scratch").code == 0
    ran = cli("run", "flows.py:greet", "--args", '{"name": "S"}', "--wait", "-o", "json")
    assert ran.code == 0, ran
    folder = cli.home / "stacks" / "scratch"
    assert (folder / "kitaru.db").exists()
    refused = cli("stack", "delete", "scratch")
    assert refused.code == 1 and "kitaru stack delete scratch --force" in refused.err
    forced = cli("stack", "delete", "scratch", "--force", "-o", "json")
    assert forced.json["item"] == {"name": "scratch", "deleted": True, "deleted_paths": []}
    assert folder.exists()  # without --recursive the data stays
    current = cli("stack", "current", "-o", "json")
    assert current.json["item"]["name"] == "default"

    assert cli("stack", "create", "scratch", "--no-activate").code == 0
    assert (
        cli("stack", "create", "lodger", "--artifacts-dir", str(folder / "shared"), "--no-activate").code == 0
    )
    shared = cli("stack", "delete", "scratch", "--recursive")
    assert (
        shared.code == 1
        and "Stack 'lodger' uses data in" in shared.err
        and "nothing was deleted" in shared.err
    )
    assert cli("stack", "show", "scratch").code == 0
    assert cli("stack", "delete", "lodger").code == 0
    gone = cli("stack", "delete", "scratch", "--recursive")
    assert gone.code == 0 and "and its data" in gone.out
    assert not folder.exists()
    assert (cli.home / "config.json").exists()  # only the stack's own folder went


def test_delete_recursive_never_deletes_a_store_given_elsewhere(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    own = tmp_path / "own.db"
    assert cli("stack", "create", "team", "--store-url", str(own)).code == 0
    assert cli("run", "flows.py:greet", "--args", '{"name": "T"}', "--wait").code == 0
    assert own.exists()
    gone = cli("stack", "delete", "team", "--force", "--recursive", "-o", "json")
    assert gone.code == 0, gone
    assert own.exists()
    assert all(str(own) not in p for p in gone.json["item"]["deleted_paths"])


def test_create_sets_the_execution_target_and_ray_address_and_show_shows_them(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path)
    made = cli(
        "stack", "create", "cluster", "--execution-target", "ray", "--ray-address", "127.0.0.1:6379",
        "--no-activate", "-o", "json",
    )  # fmt: skip
    assert made.code == 0, made
    assert made.json["item"]["settings"] == {"execution_target": "ray", "ray_address": "127.0.0.1:6379"}
    workers = cli("stack", "create", "farm", "--execution-target", "worker", "--no-activate")
    assert workers.code == 0, workers
    shown, farm = cli.many(("stack", "show", "cluster"), ("stack", "show", "farm", "-o", "json"))
    assert "execution_target='ray'" in shown.out and "ray_address='127.0.0.1:6379'" in shown.out
    assert farm.json["item"]["settings"] == {"execution_target": "worker"}
    unknown, address, mixed = cli.many(
        ("stack", "create", "odd", "--execution-target", "gpu"),
        ("stack", "create", "odd", "--execution-target", "ray", "--ray-address", "not an address"),
        ("stack", "create", "odd", "--execution-target", "local", "--ray-address", "127.0.0.1:6379"),
    )
    assert unknown.code != 0 and "execution_target must be one of local, worker, ray" in unknown.err
    assert address.code != 0 and "ray_address must be" in address.err
    assert mixed.code != 0 and "--ray-address 127.0.0.1:6379 is for the execution target ray" in mixed.err
    names = {s["name"] for s in cli("stack", "list", "-o", "json").json["items"]}
    assert "odd" not in names and {"cluster", "farm"} <= names
