"""Configuration precedence (SPEC §1.8), validation naming the source, and the frozen spec.

Every layer is tested against every other one on a real execution: both set
``retries`` (or ``cache``) to different values and the stored spec must hold
the higher layer's value and name it as the source.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient
from kitaru.config import reset_config, resolve_settings
from kitaru.errors import KitaruUsageError

LAYERS = ["default", "stack", "pyproject", "env", "configure", "flow", "run"]


def _body() -> int:
    return 1


class Setup:
    """Sets one setting in chosen layers and runs a flow with them."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.setting = setting
        self.flow_options: dict[str, Any] = {}
        self.run_options: dict[str, Any] = {}
        monkeypatch.chdir(tmp_path)

    def put(self, layer: str, value: Any) -> None:
        name = self.setting
        if layer == "default":
            return
        if layer == "stack":
            kitaru.create_stack("tuned", settings={name: value}, activate=True)
        elif layer == "pyproject":
            toml = str(value).lower() if isinstance(value, bool) else value
            (self.tmp_path / "pyproject.toml").write_text(
                f"[project]\nname = 'x'\n\n[tool.kitaru]\n{name} = {toml}\n"
            )
        elif layer == "env":
            self.monkeypatch.setenv(f"KITARU_{name.upper()}", str(value).lower())
        elif layer == "configure":
            kitaru.configure(**{name: value})
        elif layer == "flow":
            self.flow_options[name] = value
        elif layer == "run":
            self.run_options[name] = value

    def spec(self) -> dict[str, Any]:
        defined = kitaru.flow(**self.flow_options)(_body)
        handle = defined.run(**self.run_options)
        assert handle.wait(timeout=30) == 1
        return KitaruClient().executions.get(handle.exec_id).spec


def _expected_source(layer: str, setting: str, tmp_path: Path, home: Path) -> str:
    return {
        "default": "built-in default",
        "stack": f"stack 'tuned' in {home / 'config.json'}",
        "pyproject": f"[tool.kitaru] in {tmp_path / 'pyproject.toml'}",
        "env": f"environment variable KITARU_{setting.upper()}",
        "configure": "kitaru.configure()",
        "flow": "@flow(...)",
        "run": "run()",
    }[layer]


@pytest.mark.parametrize(("lower", "higher"), list(itertools.combinations(LAYERS, 2)))
def test_higher_layer_wins_for_retries(
    lower: str, higher: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kitaru_home: Path
) -> None:
    setup = Setup(tmp_path, monkeypatch, "retries")
    setup.put(lower, 2)
    setup.put(higher, 5)
    spec = setup.spec()
    assert spec["options"]["retries"] == (5 if higher != "default" else 2)
    assert spec["sources"]["retries"] == _expected_source(higher, "retries", tmp_path, kitaru_home)


@pytest.mark.parametrize(("lower", "higher"), list(itertools.combinations(LAYERS[1:], 2)))
def test_higher_layer_wins_for_cache(
    lower: str, higher: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kitaru_home: Path
) -> None:
    setup = Setup(tmp_path, monkeypatch, "cache")
    setup.put(lower, True)
    setup.put(higher, False)
    spec = setup.spec()
    assert spec["options"]["cache"] is False
    assert spec["sources"]["cache"] == _expected_source(higher, "cache", tmp_path, kitaru_home)


@pytest.mark.parametrize("layer", LAYERS[1:])
def test_each_layer_alone_beats_the_default(
    layer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kitaru_home: Path
) -> None:
    setup = Setup(tmp_path, monkeypatch, "retries")
    setup.put(layer, 3)
    spec = setup.spec()
    assert spec["options"]["retries"] == 3
    assert spec["sources"]["retries"] == _expected_source(layer, "retries", tmp_path, kitaru_home)


STACK_LAYERS = ["use", "pyproject", "env", "configure", "flow", "run"]


@pytest.mark.parametrize(("lower", "higher"), list(itertools.combinations(STACK_LAYERS, 2)))
def test_stack_choice_follows_the_same_order(
    lower: str, higher: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    kitaru.create_stack("low")
    kitaru.create_stack("high")
    flow_options: dict[str, Any] = {}
    run_options: dict[str, Any] = {}
    for layer, name in ((lower, "low"), (higher, "high")):
        if layer == "use":
            kitaru.use_stack(name)
        elif layer == "pyproject":
            (tmp_path / "pyproject.toml").write_text(f"[tool.kitaru]\nstack = '{name}'\n")
        elif layer == "env":
            monkeypatch.setenv("KITARU_STACK", name)
        elif layer == "configure":
            kitaru.configure(stack=name)
        elif layer == "flow":
            flow_options["stack"] = name
        else:
            run_options["stack"] = name
    handle = kitaru.flow(**flow_options)(_body).run(**run_options)
    assert handle.wait(timeout=30) == 1
    high = KitaruClient(store=handle._stores.metadata, artifacts=handle._stores.artifacts)
    execution = high.executions.get(handle.exec_id)
    assert execution.spec["options"]["stack"] == "high"
    assert execution.spec["connection"]["store"].endswith("stacks/high/kitaru.db")


def test_invalid_values_name_their_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kitaru_home: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KITARU_RETRIES", "many")
    with pytest.raises(KitaruUsageError, match="environment variable KITARU_RETRIES='many'"):
        resolve_settings()
    monkeypatch.setenv("KITARU_RETRIES", "-1")
    with pytest.raises(KitaruUsageError, match="KITARU_RETRIES: retries must be ≥ 0"):
        resolve_settings()
    monkeypatch.setenv("KITARU_CACHE", "maybe")
    monkeypatch.delenv("KITARU_RETRIES")
    with pytest.raises(KitaruUsageError, match="KITARU_CACHE='maybe' is not a boolean"):
        resolve_settings()
    monkeypatch.delenv("KITARU_CACHE")
    (tmp_path / "pyproject.toml").write_text("[tool.kitaru]\nretries = 'two'\n")
    with pytest.raises(
        KitaruUsageError, match=r"\[tool.kitaru\] in .*pyproject.toml: retries must be a whole"
    ):
        resolve_settings()
    (tmp_path / "pyproject.toml").write_text("[tool.kitaru]\nretrys = 2\n")
    with pytest.raises(KitaruUsageError, match="unknown setting 'retrys'; known settings are cache, retries"):
        resolve_settings()
    (tmp_path / "pyproject.toml").write_text("[tool.kitaru]\napi_key = 'sk-1'\n")
    with pytest.raises(KitaruUsageError, match="api_key does not belong in a project file"):
        resolve_settings()
    (tmp_path / "pyproject.toml").write_text("[tool.kitaru\n")
    with pytest.raises(KitaruUsageError, match="is not valid TOML"):
        resolve_settings()
    # A project file that never mentions kitaru holds none of its settings: not even read as TOML.
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'other'\n")
    assert resolve_settings().sources["retries"] == "built-in default"
    (tmp_path / "pyproject.toml").unlink()
    with pytest.raises(KitaruUsageError, match=r"kitaru.configure\(\): cache must be True or False"):
        kitaru.configure(cache="yes")  # type: ignore[arg-type]
    with pytest.raises(KitaruUsageError, match=r"@flow\(...\): retries must be"):
        kitaru.flow(retries=-2)(_body)
    with pytest.raises(KitaruUsageError, match=r"_body.run\(\): cache must be"):
        kitaru.flow(_body).run(cache="no")
    # A hand-edited stack with a bad value names the stack and the file.
    config = kitaru_home / "config.json"
    config.write_text(
        json.dumps({"stacks": {"bad": {"store_url": "sqlite:///x.db", "settings": {"retries": -3}}}})
    )
    monkeypatch.setenv("KITARU_STACK", "bad")
    with pytest.raises(KitaruUsageError, match=rf"stack 'bad' in {config}: retries must be ≥ 0"):
        resolve_settings()


def test_unknown_stack_names_what_chose_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_STACK", "nowhere")
    with pytest.raises(KitaruUsageError, match=r"Stack 'nowhere' .chosen by KITARU_STACK. does not exist"):
        kitaru.flow(_body).run()
    monkeypatch.delenv("KITARU_STACK")
    with pytest.raises(KitaruUsageError, match=r"chosen by run\(\)"):
        kitaru.flow(_body).run(stack="nowhere")


def test_frozen_spec_redacts_secrets_and_records_models(monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.config.model_aliases import register_model

    register_model("fast", model="openai/gpt-4o-mini", secret="openai")
    monkeypatch.setenv("KITARU_API_KEY", "sk-live-123")
    monkeypatch.setenv("KITARU_DEFAULT_MODEL", "fast")
    image = {"base_image": "python:3.11", "environment": {"HF_TOKEN": "hf-abc", "REGION": "eu"}}
    handle = kitaru.flow(image=image)(_body).run()
    assert handle.wait(timeout=30) == 1
    spec = KitaruClient().executions.get(handle.exec_id).spec
    text = json.dumps(spec)
    assert "sk-live-123" not in text and "hf-abc" not in text
    assert spec["connection"]["api_key"] == "***"
    assert spec["options"]["image"]["environment"] == {"HF_TOKEN": "***", "REGION": "eu"}
    assert spec["models"]["default_model"] == "fast"
    assert spec["models"]["default_alias"] == "fast"
    assert spec["models"]["aliases"]["fast"]["model"] == "openai/gpt-4o-mini"
    assert spec["sources"]["default_model"] == "environment variable KITARU_DEFAULT_MODEL"


def test_store_url_environment_still_overrides_the_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITARU_STORE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    monkeypatch.setenv("KITARU_ARTIFACTS_DIR", str(tmp_path / "elsewhere-artifacts"))
    handle = kitaru.flow(_body).run()
    assert handle.wait(timeout=30) == 1
    spec = KitaruClient().executions.get(handle.exec_id).spec
    assert spec["connection"]["store"].endswith("elsewhere.db")
    assert (tmp_path / "elsewhere.db").exists()


def test_a_server_url_must_be_http_and_connect_overrides_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(KitaruUsageError, match="must start with http"):
        kitaru.connect("kitaru.example.com")
    monkeypatch.setenv("KITARU_SERVER_URL", "https://from-env.example.com")
    assert resolve_settings().sources["server_url"] == "environment variable KITARU_SERVER_URL"
    kitaru.connect("https://kitaru.example.com", api_key="sk-1")
    settings = resolve_settings()
    assert settings.values["server_url"] == "https://kitaru.example.com"
    assert settings.sources["api_key"] == "kitaru.connect()"
    reset_config()
    assert resolve_settings().values["server_url"] == "https://from-env.example.com"


def test_a_server_stack_is_the_lowest_layer_and_its_key_goes_only_to_its_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kitaru.config.login import login

    kitaru.create_stack("team", server_url="https://team.example.com", api_key="kitaru_team")
    settings = resolve_settings()
    assert settings.values["server_url"] == "https://team.example.com"
    assert settings.values["api_key"] == "kitaru_team"
    assert settings.sources["server_url"].startswith("stack 'team' in ")
    assert settings.sources["api_key"] == settings.sources["server_url"]

    # Another server named higher up: the stack's key is not sent there.
    monkeypatch.setenv("KITARU_SERVER_URL", "https://other.example.com")
    settings = resolve_settings()
    assert settings.values["server_url"] == "https://other.example.com"
    assert settings.values["api_key"] is None and settings.sources["api_key"] == "built-in default"
    # The same server named higher up keeps the stack's key; KITARU_API_KEY alone goes anywhere.
    monkeypatch.setenv("KITARU_SERVER_URL", "https://team.example.com")
    assert resolve_settings().values["api_key"] == "kitaru_team"
    monkeypatch.setenv("KITARU_SERVER_URL", "https://other.example.com")
    monkeypatch.setenv("KITARU_API_KEY", "kitaru_env")
    assert resolve_settings().values["api_key"] == "kitaru_env"
    monkeypatch.delenv("KITARU_SERVER_URL")
    monkeypatch.delenv("KITARU_API_KEY")

    # `kitaru login` is above the stack; its key is bound to its server as well.
    login("https://login.example.com", api_key="kitaru_login")
    settings = resolve_settings()
    assert (settings.values["server_url"], settings.values["api_key"]) == (
        "https://login.example.com",
        "kitaru_login",
    )
    kitaru.connect("https://connected.example.com")
    assert resolve_settings().values["api_key"] is None


def test_a_server_stack_names_no_store(tmp_path: Path) -> None:
    with pytest.raises(KitaruUsageError, match="not both"):
        kitaru.create_stack("x", server_url="https://x.example.com", store_url=str(tmp_path / "x.db"))
    with pytest.raises(KitaruUsageError, match="give its URL too"):
        kitaru.create_stack("x", api_key="kitaru_x")
    with pytest.raises(KitaruUsageError, match="must start with http"):
        kitaru.create_stack("x", server_url="x.example.com")
    stack = kitaru.create_stack("x", server_url="https://x.example.com", api_key="kitaru_x")
    assert stack.kind == "server" and stack.to_dict()["api_key"] == "***"
    assert "kitaru_x" not in repr(stack) and "kitaru_x" not in json.dumps(stack.to_dict())
