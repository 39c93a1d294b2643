"""Stacks, encrypted secrets and model aliases persisted in the data directory."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import kitaru
from kitaru import KitaruClient
from kitaru.config.model_aliases import list_models, register_model, resolve_model
from kitaru.config.secrets import delete_secret, get_secret, list_secrets, set_secret
from kitaru.errors import KitaruStateError, KitaruUsageError


@kitaru.flow
def one() -> int:
    return 1


def test_default_stack_is_the_data_directory(kitaru_home: Path) -> None:
    stacks = kitaru.list_stacks()
    assert [s.name for s in stacks] == ["default"]
    current = kitaru.current_stack()
    assert current.active and current.chosen_by == "built-in default"
    assert current.store_url == f"sqlite:///{kitaru_home / 'kitaru.db'}"
    assert current.artifacts_dir == str(kitaru_home / "artifacts")


def test_create_use_and_delete_a_stack(kitaru_home: Path, tmp_path: Path) -> None:
    created = kitaru.create_stack(
        "scratch", settings={"retries": 1}, artifacts_dir=tmp_path / "arts", activate=False
    )
    assert not created.active
    assert created.store_url == f"sqlite:///{kitaru_home / 'stacks' / 'scratch' / 'kitaru.db'}"
    assert kitaru.use_stack("scratch").active
    handle = one.run()
    assert handle.wait(timeout=30) == 1
    # The execution lives in the scratch stack's store, and the client follows the active stack.
    assert (kitaru_home / "stacks" / "scratch" / "kitaru.db").exists()
    assert KitaruClient().executions.get(handle.exec_id).spec["options"]["retries"] == 1
    assert [s.name for s in kitaru.list_stacks() if s.active] == ["scratch"]
    with pytest.raises(KitaruStateError, match="is the active stack; switch first"):
        kitaru.delete_stack("scratch")
    kitaru.use_stack("default")
    kitaru.delete_stack("scratch")
    assert [s.name for s in kitaru.list_stacks()] == ["default"]
    assert (kitaru_home / "stacks" / "scratch" / "kitaru.db").exists()  # data is kept


def test_stack_errors_say_what_to_do() -> None:
    with pytest.raises(KitaruStateError, match="cannot be deleted"):
        kitaru.delete_stack("default")
    with pytest.raises(KitaruStateError, match=r"No stack named 'ghost'.*Known stacks: default"):
        kitaru.use_stack("ghost")
    kitaru.create_stack("twin")
    with pytest.raises(KitaruStateError, match="already exists"):
        kitaru.create_stack("twin")
    with pytest.raises(KitaruUsageError, match="stack name: stack must be a stack name"):
        kitaru.create_stack("bad name")
    with pytest.raises(KitaruUsageError, match="'server_url' cannot be set on a stack"):
        kitaru.create_stack("remote", settings={"server_url": "https://x"})
    with pytest.raises(KitaruUsageError, match="is not supported"):
        kitaru.create_stack("mongo", store_url="mongodb://db")


def test_config_file_is_written_atomically_and_survives_concurrent_writers(kitaru_home: Path) -> None:
    import threading

    names = [f"s{i}" for i in range(20)]
    threads = [threading.Thread(target=kitaru.create_stack, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = json.loads((kitaru_home / "config.json").read_text())
    assert sorted(data["stacks"]) == sorted(names)
    assert not [p for p in kitaru_home.iterdir() if p.name.endswith(".tmp")]


def test_secrets_are_encrypted_at_rest(kitaru_home: Path) -> None:
    set_secret("openai", {"OPENAI_API_KEY": "sk-very-secret", "ORG": "acme"})
    key_file = kitaru_home / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((kitaru_home / "secrets.json").stat().st_mode) == 0o600
    raw = (kitaru_home / "secrets.json").read_text()
    assert "sk-very-secret" not in raw and "acme" not in raw
    secret = get_secret("openai")
    assert secret.values == {"OPENAI_API_KEY": "sk-very-secret", "ORG": "acme"}
    assert secret.masked() == {"OPENAI_API_KEY": "***", "ORG": "***"}
    assert "sk-very-secret" not in repr(secret)
    assert [(s.name, s.keys) for s in list_secrets()] == [("openai", ("OPENAI_API_KEY", "ORG"))]
    delete_secret("openai")
    assert list_secrets() == []
    with pytest.raises(KitaruStateError, match="No secret named 'openai'"):
        get_secret("openai")


def test_secrets_with_a_lost_key_say_so(kitaru_home: Path) -> None:
    set_secret("db", {"PASSWORD": "pw"})
    (kitaru_home / "secrets.key").unlink()
    with pytest.raises(KitaruStateError, match=r"key of the stored secrets .* is missing"):
        get_secret("db")
    with pytest.raises(KitaruUsageError, match="key '1BAD' is not valid"):
        set_secret("db", {"1BAD": "x"})


def test_model_aliases_and_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    first = register_model("fast", model="openai/gpt-4o-mini", secret="openai")
    assert first.default
    second = register_model("local", model="ollama/llama3.1")
    assert not second.default
    register_model("claude", model="anthropic/claude-sonnet-4", default=True)
    assert [(m.alias, m.default) for m in list_models()] == [
        ("claude", True),
        ("fast", False),
        ("local", False),
    ]
    assert resolve_model(None).model == "anthropic/claude-sonnet-4"
    assert resolve_model("fast").secret == "openai"
    assert resolve_model(None, default_model="local").model == "ollama/llama3.1"
    assert resolve_model("openrouter/some/model").provider == "openrouter"
    with pytest.raises(KitaruStateError, match="neither a registered alias"):
        resolve_model("nope")
    with pytest.raises(KitaruUsageError, match="Unknown provider 'acme'"):
        register_model("x", model="acme/model-1")
    assert register_model("x", model="acme/model-1", base_url="http://localhost:8000/v1").provider == "acme"


def test_stack_info_has_an_id_and_is_active_and_create_activates_by_default(kitaru_home: Path) -> None:
    default = kitaru.current_stack()
    assert default.is_active and default.id == kitaru.list_stacks()[0].id  # stable for 'default'
    made = kitaru.create_stack("scratch")
    assert made.is_active and made.active and kitaru.current_stack().name == "scratch"
    assert made.id == kitaru.current_stack().id and made.id != default.id
    quiet = kitaru.create_stack("quiet", activate=False)
    assert not quiet.is_active and kitaru.current_stack().name == "scratch"
    with pytest.raises(KitaruStateError, match="--force"):
        kitaru.delete_stack("scratch")
    assert kitaru.delete_stack("scratch", force=True) == []
    assert kitaru.current_stack().name == "default"
