"""Image settings as the original's programs give them: ``kitaru.ImageSettings``, a
mapping or a plain image name, in every layer; layers merge; ``KITARU_IMAGE``;
stored in the frozen spec. And ``kitaru.configure(x=None)`` clearing a field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient
from kitaru.errors import KitaruUsageError

pytestmark = pytest.mark.both_modes


def _body() -> int:
    return 1


def _spec(handle: Any) -> dict[str, Any]:
    assert handle.wait(timeout=30) == 1
    spec: dict[str, Any] = KitaruClient().executions.get(handle.exec_id).spec
    return spec


def test_image_settings_has_the_original_fields_and_refuses_unknown_ones() -> None:
    assert "ImageSettings" in kitaru.__all__
    settings = kitaru.ImageSettings(
        base_image="python:3.12-slim",
        requirements=["httpx>=0.27"],
        dockerfile="Dockerfile",
        build_context_root=".",
        environment={"REGION": "eu"},
        apt_packages=["git"],
        replicate_local_python_environment=False,
        image_tag="v1",
        target_repository="agents",
        user="app",
        platform="linux/amd64",
    )
    assert settings.image_tag == "v1"
    with pytest.raises(ValueError, match="parent_image"):
        kitaru.ImageSettings(parent_image="python:3.12")  # type: ignore[call-arg]


def test_image_given_as_settings_mapping_or_name_is_stored_in_the_spec() -> None:
    kitaru.configure(image=kitaru.ImageSettings(base_image="python:3.12", apt_packages=["git"]))
    flow = kitaru.flow(image={"requirements": ["httpx"], "environment": {"A": "1"}})(_body)
    spec = _spec(flow.run(image="python:3.13"))
    assert spec["options"]["image"] == {
        "base_image": "python:3.13",
        "requirements": ["httpx"],
        "environment": {"A": "1"},
        "apt_packages": ["git"],
    }
    assert spec["sources"]["image"] == "kitaru.configure() + @flow(...) + run()"


def test_image_layers_merge_from_stack_project_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    kitaru.create_stack("images", settings={"image": {"environment": {"A": "stack", "B": "stack"}}})
    kitaru.use_stack("images")
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.kitaru.image]\nbase_image = 'python:3.12'\nuser = 'app'\n"
    )
    monkeypatch.setenv("KITARU_IMAGE", '{"environment": {"B": "env"}, "platform": "linux/arm64"}')
    flow = kitaru.flow(image=kitaru.ImageSettings(user="root"))(_body)
    image = _spec(flow.run())["options"]["image"]
    assert image == {
        "base_image": "python:3.12",
        "environment": {"A": "stack", "B": "env"},
        "user": "root",
        "platform": "linux/arm64",
    }


def test_kitaru_image_takes_a_plain_image_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_IMAGE", "ghcr.io/acme/agent:1")
    spec = _spec(kitaru.flow(_body).run())
    assert spec["options"]["image"] == {"base_image": "ghcr.io/acme/agent:1"}
    assert spec["sources"]["image"] == "environment variable KITARU_IMAGE"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ('{"base_image": ', "not valid JSON"),
        ('{"parent": "x"}', "parent"),
        ('{"requirements": [""]}', "empty"),
    ],
)
def test_a_bad_kitaru_image_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str, needle: str
) -> None:
    monkeypatch.setenv("KITARU_IMAGE", raw)
    with pytest.raises(KitaruUsageError, match="environment variable KITARU_IMAGE") as info:
        kitaru.flow(_body).run()
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("where", "value"), [("configure", {"base": "x"}), ("flow", 3), ("run", {"environment": "A=1"})]
)
def test_a_bad_image_names_where_it_was_given(where: str, value: Any) -> None:
    expected = {"configure": "kitaru.configure()", "flow": "@flow(...)", "run": "run()"}[where]
    with pytest.raises(KitaruUsageError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        if where == "configure":
            kitaru.configure(image=value)
        elif where == "flow":
            kitaru.flow(image=value)(_body)
        else:
            kitaru.flow(_body).run(image=value)


def test_configure_none_clears_a_field_and_a_left_out_keyword_keeps_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITARU_RETRIES", "1")
    kitaru.configure(cache=True, retries=3, image="python:3.12")
    kitaru.configure(retries=4)  # cache and image stay
    spec = _spec(kitaru.flow(_body).run())
    assert (spec["options"]["cache"], spec["options"]["retries"]) == (True, 4)
    assert spec["options"]["image"] == {"base_image": "python:3.12"}
    config = kitaru.configure(cache=None, retries=None, image=None)
    assert config == kitaru.KitaruConfig()
    spec = _spec(kitaru.flow(_body).run())
    assert spec["options"]["cache"] is False and spec["sources"]["cache"] == "built-in default"
    assert spec["sources"]["retries"] == "environment variable KITARU_RETRIES"
    assert spec["options"]["image"] is None
