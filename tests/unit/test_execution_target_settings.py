"""The execution target settings (execution_target, ray_address), isolated resources, and
the Ray target's errors when it cannot be used."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import kitaru
from kitaru import checkpoint
from kitaru.config import resolve_settings
from kitaru.errors import KitaruFeatureNotAvailableError, KitaruUsageError
from kitaru.testing import in_memory, isolated_home


def test_the_target_defaults_to_local_and_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert resolve_settings().values["execution_target"] == "local"
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "Ray")
    monkeypatch.setenv("KITARU_RAY_ADDRESS", "127.0.0.1:6379")
    settings = resolve_settings()
    assert settings.values["execution_target"] == "ray"
    assert settings.values["ray_address"] == "127.0.0.1:6379"
    assert settings.sources["ray_address"] == "environment variable KITARU_RAY_ADDRESS"


@pytest.mark.parametrize(
    ("var", "value", "words"),
    [
        ("KITARU_EXECUTION_TARGET", "cluster", "execution_target must be one of local, worker, ray"),
        ("KITARU_RAY_ADDRESS", "http://head:8265", "ray_address must be 'auto', HOST:PORT"),
    ],
)
def test_a_bad_target_setting_names_its_source(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, words: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(KitaruUsageError, match=f"environment variable {var}: {words}"):
        resolve_settings()


def test_a_stack_carries_the_target(tmp_path: Path) -> None:
    with isolated_home(tmp_path):
        kitaru.create_stack("cluster", settings={"execution_target": "ray", "ray_address": "auto"})
        settings = resolve_settings()
    assert settings.values["execution_target"] == "ray"
    assert settings.values["ray_address"] == "auto"
    assert "stack 'cluster'" in settings.sources["execution_target"]


def test_unknown_resources_are_refused_by_name() -> None:
    with pytest.raises(KitaruUsageError, match="unknown key 'gpus'; known keys are num_cpus, num_gpus"):

        @checkpoint(runtime="isolated", resources={"gpus": 1})
        def train() -> None: ...

    with pytest.raises(KitaruUsageError, match=r"resources=\{'num_gpus': \.\.\.\} of checkpoint 'fit'"):

        @checkpoint(runtime="isolated", resources={"num_gpus": -1})
        def fit() -> None: ...

    @checkpoint(runtime="isolated", resources={"num_gpus": 1, "resources": {"tpu": 2}})
    def tune() -> None: ...

    assert tune.resources == {"num_gpus": 1, "resources": {"tpu": 2.0}}


def test_the_ray_target_needs_an_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests._isolated_flows import split

    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "ray")
    with isolated_home(tmp_path), pytest.raises(KitaruUsageError, match="no ray_address is set"):
        split.run()


def test_the_ray_target_refuses_an_in_memory_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests._isolated_flows import split

    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "ray")
    monkeypatch.setenv("KITARU_RAY_ADDRESS", "127.0.0.1:6379")
    with in_memory(), pytest.raises(KitaruUsageError, match="cannot be opened by another process"):
        split.run()


def test_without_ray_installed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.runtime.targets import ray as ray_target

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(KitaruFeatureNotAvailableError, match=r"pip install 'kitaru\[ray\]'"):
        ray_target._ray()
