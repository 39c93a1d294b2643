"""Code that a stored value names is loaded only from the places this process trusts.

The test process runs in the project's root; ``tmp_path`` lies outside it. Each
module and script written here touches a file when its code runs, so a refusal
can be seen not to have run it.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru.config import resolve_settings
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.serde import deserialize, serialize

pytestmark = pytest.mark.both_modes

MODULE = textwrap.dedent(
    """
    import os
    from pathlib import Path

    import pydantic

    (Path(__file__).resolve().parent / f"ran-{__name__}").touch()


    class Thing(pydantic.BaseModel):
        size: int = 1
    """
)


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory outside the project, on the import path, with modules ``evil_a``/``evil_b``."""
    folder = tmp_path / "outside"
    folder.mkdir()
    for name in ("evil_a", "evil_b"):
        (folder / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("KITARU_TRUSTED_PATHS", raising=False)
    yield folder
    for name in ("evil_a", "evil_b"):
        sys.modules.pop(name, None)


def _ran(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("ran-*"))


def test_a_type_path_outside_the_trusted_places_is_refused_before_its_code_runs(
    outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(KitaruStateError, match="Refusing to load the type evil_a:Thing") as refused:
        deserialize("pydantic", "evil_a:Thing", b'{"size": 2}')
    message = str(refused.value)
    assert str(outside / "evil_a.py") in message and "KITARU_TRUSTED_PATHS" in message
    assert "a stored value's type path" in message
    assert _ran(outside) == [] and "evil_a" not in sys.modules

    monkeypatch.setenv("KITARU_TRUSTED_PATHS", str(outside))
    value = deserialize("pydantic", "evil_a:Thing", b'{"size": 2}')
    assert type(value).__name__ == "Thing" and value.size == 2
    assert _ran(outside) == ["ran-evil_a"]


def test_a_pickle_naming_an_untrusted_module_is_refused_even_when_pickles_are_allowed(outside: Path) -> None:
    crafted = b"cevil_b\nThing\n)\x81."  # protocol 0: evil_b.Thing.__new__(evil_b.Thing)
    with pytest.raises(
        KitaruStateError, match=r"Refusing to load evil_b\.Thing \(named in a pickled value\)"
    ):
        deserialize("pickle", "evil_b:Thing", crafted, allow_pickle=True)
    assert _ran(outside) == []


def test_main_in_a_stored_type_means_the_script_of_its_execution_loaded_only_when_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    script = scripts / "flows.py"
    script.write_text(MODULE + '\nif __name__ == "__main__":\n    raise SystemExit("not as a script")\n')
    monkeypatch.delenv("KITARU_TRUSTED_PATHS", raising=False)
    with pytest.raises(KitaruStateError, match="Refusing to load the type __main__:Thing") as refused:
        deserialize("pydantic", "__main__:Thing", b'{"size": 3}', script=str(script))
    assert "the source reference of the value's execution" in str(refused.value)
    assert _ran(scripts) == []

    monkeypatch.setenv("KITARU_TRUSTED_PATHS", str(scripts))
    value = deserialize("pydantic", "__main__:Thing", b'{"size": 3}', script=str(script))
    assert value.size == 3 and len(_ran(scripts)) == 1
    # Loaded under a module name of its own (its __main__ block did not run), recorded as __main__.
    assert type(value).__module__ != "__main__" and serialize(value).type_path == "__main__:Thing"
    again = deserialize("pydantic", "__main__:Thing", b'{"size": 4}', script=str(script))
    assert type(again) is type(value) and len(_ran(scripts)) == 1  # loaded once per process


def test_the_allow_list_is_validated_naming_its_source(
    outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing"
    monkeypatch.setenv("KITARU_TRUSTED_PATHS", f"{outside}{os.pathsep}{missing}")
    with pytest.raises(KitaruUsageError, match="environment variable KITARU_TRUSTED_PATHS") as bad:
        deserialize("pydantic", "evil_a:Thing", b"{}")
    assert str(missing) in str(bad.value) and "does not exist" in str(bad.value)
    monkeypatch.setenv("KITARU_TRUSTED_PATHS", f"{outside}{os.pathsep}")
    with pytest.raises(KitaruUsageError, match="has an empty entry"):
        deserialize("pydantic", "evil_a:Thing", b"{}")
    assert _ran(outside) == []


def test_trusted_paths_in_the_project_file_are_read_relative_to_it(
    outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.kitaru]\ntrusted_paths = 3\n")
    monkeypatch.chdir(project)
    with pytest.raises(KitaruUsageError, match=r"trusted_paths in \[tool.kitaru\] in .*pyproject.toml"):
        resolve_settings()
    with pytest.raises(KitaruUsageError, match=r"trusted_paths in \[tool.kitaru\] in .*pyproject.toml"):
        deserialize("pydantic", "evil_a:Thing", b"{}")

    (project / "pyproject.toml").write_text('[tool.kitaru]\nretries = 1\ntrusted_paths = ["../outside"]\n')
    assert resolve_settings().values["retries"] == 1  # a known key: the other settings still apply
    assert deserialize("pydantic", "evil_a:Thing", b'{"size": 5}').size == 5
    assert _ran(outside) == ["ran-evil_a"]


def test_the_project_root_is_trusted_when_run_from_inside_it(
    outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (outside / "pyproject.toml").write_text("[project]\nname = 'outside'\n")
    (outside / "deep").mkdir()
    monkeypatch.chdir(outside / "deep")
    assert deserialize("pydantic", "evil_b:Thing", b'{"size": 6}').size == 6
    assert _ran(outside) == ["ran-evil_b"]
