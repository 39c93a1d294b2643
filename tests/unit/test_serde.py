"""Serializers, their order and registry, loading rules and fingerprints."""

from __future__ import annotations

import collections
import dataclasses
import enum
import math
import os
import subprocess
import sys
import textwrap
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pydantic
import pytest

import kitaru.serde
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.serde import (
    BUILTIN_SERIALIZERS,
    SerializedValue,
    Serializer,
    deserialize,
    fingerprint,
    get_serializer,
    register_serializer,
    serialize,
    unregister_serializer,
)

SRC = Path(kitaru.serde.__file__).resolve().parents[2]


def roundtrip(value: Any, **kwargs: Any) -> tuple[SerializedValue, Any]:
    sv = serialize(value)
    assert type(sv.data) is bytes
    return sv, deserialize(sv.serializer, sv.type_path, sv.data, **kwargs)


def run_python(code: str, *, cwd: Path | None = None, **env: str) -> str:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), str(cwd or "")])),
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


class Color(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    LOW = 1


class Point(pydantic.BaseModel):
    x: int
    y: float


class Path2(pydantic.BaseModel):
    points: list[Point]
    label: tuple[str, int]


class Loose(pydantic.BaseModel):
    anything: Any


@dataclasses.dataclass
class Pair:
    left: int
    right: str


@dataclasses.dataclass(frozen=True)
class Nested:
    pair: Pair
    point: Point
    tags: tuple[str, ...] = ()


@dataclasses.dataclass(eq=False)
class NoEq:
    value: int


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


@dataclasses.dataclass
class HoldsOpaque:
    item: Opaque


class Base:
    def __init__(self, n: int) -> None:
        self.n = n


class Child(Base):
    pass


@pytest.fixture
def cleanup() -> Any:
    registered: list[type] = []
    yield registered
    for cls in registered:
        unregister_serializer(cls)


# --- json -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        0,
        -7,
        2**70,
        "",
        "héllo ✓",
        "\ud800 lone surrogate",
        'quote " and \\ backslash',
        1.5,
        1e100,
        1.0,
        True,
        False,
        None,
        [],
        {},
        [1, "a", None, [True, 2.5]],
        {"a": {"b": [1, {"c": None}]}, "z": 1.0},
    ],
)
def test_json_native_values_round_trip_with_exact_types(value: Any) -> None:
    sv, back = roundtrip(value)
    assert sv.serializer == "json"
    assert sv.type_path == f"builtins:{type(value).__qualname__}"
    assert back == value
    assert repr(back) == repr(value)  # exact types all the way down (1 vs 1.0 vs True)


def test_json_special_floats_round_trip() -> None:
    _, back = roundtrip(float("nan"))
    assert math.isnan(back)
    assert roundtrip(float("-inf"))[1] == float("-inf")
    sv, back = roundtrip(-0.0)
    assert sv.serializer == "json" and math.copysign(1.0, back) == -1.0


def test_json_keeps_dict_order() -> None:
    assert list(roundtrip({"b": 1, "a": 2})[1]) == ["b", "a"]


@pytest.mark.parametrize(
    "value",
    [
        ((1, 2),),
        [1, (2, 3)],
        {"a": (1,)},
        {1: "a"},
        {("a", 1): "b"},
        Color.RED,
        Level.LOW,
        [Color.RED],
        {"k": Color.RED},
        collections.OrderedDict(a=1),
        {1, 2},
        frozenset({"a"}),
        Fraction(1, 3),
        complex(1, 2),
    ],
)
def test_values_json_would_change_are_not_json(value: Any) -> None:
    sv, back = roundtrip(value)
    assert sv.serializer != "json"
    assert type(back) is type(value)
    assert back == value
    assert repr(back) == repr(value)


def test_ints_too_long_for_a_decimal_string_are_pickled() -> None:
    value = 10**5000
    sv, back = roundtrip(value)
    assert sv.serializer == "pickle" and type(back) is int and back == value
    assert fingerprint(value) != fingerprint(value + 1)


def test_cycles_are_not_json_but_pickle() -> None:
    value: list[Any] = [1]
    value.append(value)
    sv, back = roundtrip(value)
    assert sv.serializer == "pickle"
    assert back[1] is back


# --- other built-ins --------------------------------------------------------------------------------


def test_a_tuple_of_json_values_is_json_and_loads_back_as_a_tuple() -> None:
    sv, back = roundtrip((1, "two", [3.0, None], {"k": True}))
    assert (sv.serializer, sv.type_path) == ("json", "builtins:tuple")
    assert sv.data == b'[1,"two",[3.0,null],{"k":true}]'
    assert back == (1, "two", [3.0, None], {"k": True}) and type(back) is tuple
    assert deserialize("json", "builtins:list", sv.data) == [1, "two", [3.0, None], {"k": True}]
    assert serialize(((1, 2), 3)).serializer == "pickle"  # a nested tuple would load back as a list
    assert serialize(()).data == b"[]"


def test_pydantic_models_round_trip() -> None:
    value = Path2(points=[Point(x=1, y=2.5)], label=("a", 1))
    sv, back = roundtrip(value)
    assert (sv.serializer, sv.type_path) == ("pydantic", "test_serde:Path2")
    assert type(back) is Path2 and back == value
    assert b'"points"' in sv.data  # readable JSON, not a pickle


def test_pydantic_model_that_does_not_round_trip_falls_back_to_pickle() -> None:
    value = Loose(anything=(1, 2))  # JSON would give a list back
    sv, back = roundtrip(value)
    assert sv.serializer == "pickle"
    assert back == value and type(back.anything) is tuple


def test_dataclasses_round_trip_with_nested_dataclass_and_model() -> None:
    value = Nested(Pair(1, "a"), Point(x=2, y=3.0), ("t",))
    sv, back = roundtrip(value)
    assert (sv.serializer, sv.type_path) == ("dataclass", f"{__name__}:Nested")
    assert type(back) is Nested and back == value
    assert type(back.pair) is Pair and type(back.point) is Point and type(back.tags) is tuple


def test_dataclass_without_eq_round_trips() -> None:
    sv, back = roundtrip(NoEq(5))
    assert sv.serializer == "dataclass"
    assert type(back) is NoEq and back.value == 5


@pytest.mark.parametrize(
    "value",
    [
        Pair("not an int", "b"),  # type: ignore[arg-type]  # field value does not match its annotation
        HoldsOpaque(Opaque(3)),  # a field type pydantic cannot handle
    ],
)
def test_dataclasses_pydantic_cannot_handle_fall_back_to_pickle(value: Any) -> None:
    sv, back = roundtrip(value)
    assert sv.serializer == "pickle"
    assert type(back) is type(value) and back == value


@pytest.mark.parametrize("value", [b"", b"\x00\xffraw", bytearray(b"mutable")])
def test_bytes_round_trip_as_their_own_type(value: bytes | bytearray) -> None:
    sv, back = roundtrip(value)
    assert sv.serializer == "bytes" and sv.data == bytes(value)
    assert type(back) is type(value) and back == value


def test_memoryview_loads_as_bytes() -> None:
    sv, back = roundtrip(memoryview(b"view"))
    assert sv.serializer == "bytes" and back == b"view" and type(back) is bytes


@pytest.mark.parametrize(
    "value",
    [
        np.arange(12, dtype=np.int32).reshape(3, 4),
        np.array([1.5, np.nan]),
        np.array([True, False]),
        np.zeros((0, 2)),
        np.array(["a", "bc"]),
    ],
)
def test_numpy_arrays_round_trip(value: Any) -> None:
    sv, back = roundtrip(value)
    assert (sv.serializer, sv.type_path) == ("numpy", "numpy:ndarray")
    assert type(back) is np.ndarray and back.dtype == value.dtype and back.shape == value.shape
    np.testing.assert_array_equal(back, value)


def test_numpy_scalars_round_trip_as_scalars() -> None:
    for value in (np.float32(1.25), np.int64(-3), np.bool_(True)):
        sv, back = roundtrip(value)
        assert sv.serializer == "numpy" and type(back) is type(value) and back == value


def test_numpy_object_arrays_fall_back_to_pickle() -> None:
    value = np.array([{"a": 1}, None], dtype=object)
    sv, back = roundtrip(value)
    assert sv.serializer == "pickle" and back[0] == {"a": 1}


def test_builtin_order() -> None:
    names = [s.name for s in BUILTIN_SERIALIZERS]
    assert names == ["json", "pydantic", "dataclass", "bytes", "numpy", "pickle"]
    assert all(isinstance(s, Serializer) for s in BUILTIN_SERIALIZERS)


def test_importing_serde_imports_neither_pydantic_nor_numpy_nor_pickle() -> None:
    out = run_python(
        """
        import sys
        import kitaru.serde as s
        sv = s.serialize({"a": [1, 2.5, "x"]})
        s.fingerprint(((1, "a"), {"k": (b"x", None)}))
        print(sorted(m for m in ("pydantic", "numpy", "pickle") if m in sys.modules), sv.serializer)
        """
    )
    assert out.split() == ["[]", "json"]


def test_models_and_dataclasses_load_in_another_process(tmp_path: Path) -> None:
    (tmp_path / "shapes.py").write_text(
        textwrap.dedent(
            """
            import dataclasses, pydantic
            class Box(pydantic.BaseModel):
                size: tuple[int, int]
            @dataclasses.dataclass
            class Tag:
                name: str
                box: Box
            """
        )
    )
    writer = """
        import sys
        from kitaru.serde import serialize
        from shapes import Box, Tag
        for value in (Box(size=(1, 2)), Tag("t", Box(size=(3, 4)))):
            sv = serialize(value)
            print(sv.serializer, sv.type_path, sv.data.hex())
    """
    lines = run_python(writer, cwd=tmp_path).splitlines()
    reader = f"""
        from kitaru.serde import deserialize
        for line in {lines!r}:
            name, path, data = line.split()
            value = deserialize(name, path, bytes.fromhex(data))
            print(name, type(value).__module__, repr(value))
    """
    out = run_python(reader, cwd=tmp_path).splitlines()
    assert out == [
        "pydantic shapes Box(size=(1, 2))",
        "dataclass shapes Tag(name='t', box=Box(size=(3, 4)))",
    ]


# --- registration -----------------------------------------------------------------------------------


class FractionSerializer:
    name = "fraction-v1"

    def __init__(self) -> None:
        self.calls = 0

    def can_serialize(self, value: Any) -> bool:
        return isinstance(value, Fraction)

    def dumps(self, value: Any) -> bytes:
        self.calls += 1
        return f"{value.numerator}/{value.denominator}".encode()

    def loads(self, data: bytes, type_path: str) -> Any:
        return Fraction(data.decode())

    def visualize(self, value: Any) -> str:
        return f"**{value}**"


def test_register_a_serializer_object(cleanup: list[type]) -> None:
    serializer = FractionSerializer()
    assert register_serializer(Fraction, serializer) is serializer
    cleanup.append(Fraction)
    sv, back = roundtrip(Fraction(2, 7))
    assert (sv.serializer, sv.type_path, sv.data) == ("fraction-v1", "fractions:Fraction", b"2/7")
    assert back == Fraction(2, 7) and serializer.calls == 1
    found = get_serializer("fraction-v1")
    assert found is serializer and found.visualize(Fraction(1, 2)) == "**1/2**"


def test_register_callables_with_default_name_and_visualize(cleanup: list[type]) -> None:
    register_serializer(
        Opaque,
        dumps=lambda v: str(v.value).encode(),
        loads=lambda data: Opaque(int(data)),
        visualize=lambda v: f"opaque {v.value}",
    )
    cleanup.append(Opaque)
    sv, back = roundtrip(Opaque(9))
    assert (sv.serializer, sv.type_path, sv.data) == (f"custom:{__name__}:Opaque", f"{__name__}:Opaque", b"9")
    assert back == Opaque(9)
    assert get_serializer(sv.serializer).visualize(Opaque(1)) == "opaque 1"  # type: ignore[union-attr]


def test_registered_serializers_win_over_builtins(cleanup: list[type]) -> None:
    register_serializer(Pair, dumps=lambda v: b"pair", loads=lambda data: Pair(0, "custom"), name="pairs")
    register_serializer(dict, dumps=lambda v: b"dict", loads=lambda data: {"custom": True}, name="dicts")
    cleanup.extend([Pair, dict])
    assert roundtrip(Pair(1, "a")) == (
        SerializedValue("pairs", f"{__name__}:Pair", b"pair"),
        Pair(0, "custom"),
    )
    assert roundtrip({"a": 1})[0].serializer == "dicts"


def test_lookup_follows_the_mro(cleanup: list[type]) -> None:
    register_serializer(Base, dumps=lambda v: str(v.n).encode(), loads=lambda data: Child(int(data)))
    cleanup.append(Base)
    sv, back = roundtrip(Child(4))
    assert (sv.serializer, sv.type_path) == (f"custom:{__name__}:Base", f"{__name__}:Child")
    assert type(back) is Child and back.n == 4
    # The exact type wins over a base class.
    register_serializer(Child, dumps=lambda v: b"child", loads=lambda data: Child(-1))
    cleanup.append(Child)
    assert serialize(Child(4)).serializer == f"custom:{__name__}:Child"


def test_registering_again_replaces(cleanup: list[type]) -> None:
    register_serializer(Opaque, dumps=lambda v: b"one", loads=lambda data: Opaque(1), name="opaque-v1")
    register_serializer(Opaque, dumps=lambda v: b"two", loads=lambda data: Opaque(2), name="opaque-v2")
    cleanup.append(Opaque)
    sv, back = roundtrip(Opaque(0))
    assert (sv.serializer, sv.data, back) == ("opaque-v2", b"two", Opaque(2))
    assert get_serializer("opaque-v1") is None


def test_a_serializer_that_declines_falls_through(cleanup: list[type]) -> None:
    class Declines(FractionSerializer):
        def can_serialize(self, value: Any) -> bool:
            return False

    register_serializer(dict, Declines())
    cleanup.append(dict)
    assert serialize({"a": 1}).serializer == "json"


def test_unregister() -> None:
    register_serializer(Opaque, dumps=lambda v: b"x", loads=lambda data: Opaque(0))
    assert unregister_serializer(Opaque) is True
    assert unregister_serializer(Opaque) is False
    assert serialize(Opaque(1)).serializer == "pickle"


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        (("not a type",), {"dumps": bytes, "loads": bytes}, "needs a class"),
        ((Opaque,), {}, "both dumps= and loads="),
        ((Opaque,), {"dumps": bytes}, "both dumps= and loads="),
        ((Opaque, FractionSerializer()), {"dumps": bytes}, "not both"),
        ((Opaque,), {"dumps": "nope", "loads": bytes}, "dumps= must be callable"),
        ((Opaque,), {"dumps": bytes, "loads": bytes, "visualize": 3}, "visualize= must be callable"),
        ((Opaque,), {"dumps": bytes, "loads": bytes, "name": "pickle"}, "built-in serializer"),
        ((Opaque,), {"dumps": bytes, "loads": bytes, "name": ""}, "non-empty string"),
        ((Opaque, object()), {}, "no callable can_serialize()"),
    ],
)
def test_registration_arguments_are_validated(args: Any, kwargs: Any, fragment: str) -> None:
    with pytest.raises(KitaruUsageError, match=fragment):
        register_serializer(*args, **kwargs)
    assert serialize(Opaque(1)).serializer == "pickle"  # nothing was registered


def test_a_name_cannot_serve_two_types(cleanup: list[type]) -> None:
    register_serializer(Opaque, dumps=bytes, loads=bytes, name="shared")
    cleanup.append(Opaque)
    with pytest.raises(KitaruUsageError, match="already used by another type"):
        register_serializer(Base, dumps=bytes, loads=bytes, name="shared")
    shared = FractionSerializer()
    register_serializer(Fraction, shared)
    register_serializer(Base, shared)  # one serializer object for two types is fine
    cleanup.extend([Fraction, Base])


def test_failing_custom_serializers_are_usage_errors(cleanup: list[type]) -> None:
    def boom(value: Any) -> bytes:
        raise RuntimeError("boom")

    register_serializer(Opaque, dumps=boom, loads=bytes)
    register_serializer(Base, dumps=lambda v: "text", loads=bytes)  # type: ignore[arg-type,return-value]
    cleanup.extend([Opaque, Base])
    with pytest.raises(KitaruUsageError, match=rf"custom:{__name__}:Opaque.*RuntimeError: boom"):
        serialize(Opaque(1))
    with pytest.raises(KitaruUsageError, match="must return bytes"):
        serialize(Base(1))


def test_registration_is_thread_safe(cleanup: list[type]) -> None:
    types = [type(f"T{i}", (Opaque,), {"__module__": __name__}) for i in range(8)]
    cleanup.extend(types)
    errors: list[BaseException] = []

    def work(cls: type) -> None:
        try:
            for _ in range(200):
                register_serializer(cls, dumps=lambda v: b"v", loads=lambda data: cls(0), visualize=str)
                sv = serialize(cls(1))
                assert sv.serializer == f"custom:{cls.__module__}:{cls.__qualname__}"
                assert get_serializer(sv.serializer) is not None
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(cls,)) for cls in types]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(serialize(cls(1)).serializer.startswith("custom:") for cls in types)


# --- errors -------------------------------------------------------------------------------------------


def _generator() -> Any:
    yield 1


@pytest.mark.parametrize(
    ("value", "type_path", "type_name"),
    [
        (threading.Lock(), "_thread:lock", "lock"),
        (_generator(), "builtins:generator", "generator"),
        (lambda: 1, "builtins:function", "function"),
    ],
)
def test_unserializable_values_name_the_type_and_the_fix(value: Any, type_path: str, type_name: str) -> None:
    with pytest.raises(KitaruUsageError) as info:
        serialize(value)
    message = str(info.value)
    assert type_path in message
    assert f"kitaru.register_serializer({type_name}, dumps=..., loads=...)" in message
    assert "pickle failed" in message and "Return a serializable value" in message


def test_unknown_serializer_is_a_state_error() -> None:
    with pytest.raises(KitaruStateError, match=r"'custom:gone:Thing'.*not registered in this process"):
        deserialize("custom:gone:Thing", "gone:Thing", b"x")


def test_pickles_can_be_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    sv = serialize(((1, 2),))
    assert sv.serializer == "pickle"
    with pytest.raises(KitaruStateError, match="Refusing to load a pickled value of type builtins:tuple"):
        deserialize(sv.serializer, sv.type_path, sv.data, allow_pickle=False)
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", "0")
    assert kitaru.serde.pickle_allowed_by_default() is False
    with pytest.raises(KitaruStateError, match="KITARU_ALLOW_PICKLE=0"):
        deserialize(sv.serializer, sv.type_path, sv.data)
    assert deserialize(sv.serializer, sv.type_path, sv.data, allow_pickle=True) == ((1, 2),)
    assert deserialize("json", "builtins:int", b"1") == 1  # other serializers are unaffected
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", "1")
    assert deserialize(sv.serializer, sv.type_path, sv.data) == ((1, 2),)


@pytest.mark.parametrize(
    ("serializer", "type_path", "data"),
    [
        ("json", "builtins:dict", b"{broken"),
        ("pickle", "builtins:tuple", b"not a pickle"),
        ("pydantic", f"{__name__}:Point", b'{"x": "nope"}'),
        ("pydantic", "no_such_module_anywhere:Model", b"{}"),
        ("numpy", "numpy:ndarray", b"\x93NUMPY garbage"),
    ],
)
def test_data_that_cannot_load_is_a_state_error(serializer: str, type_path: str, data: bytes) -> None:
    with pytest.raises(KitaruStateError, match=type_path):
        deserialize(serializer, type_path, data)


def test_deserialize_accepts_bytes_like_data() -> None:
    assert deserialize("json", "builtins:list", memoryview(b"[1]")) == [1]
    assert deserialize("bytes", "builtins:bytes", bytearray(b"ab")) == b"ab"


# --- fingerprints -------------------------------------------------------------------------------------


def test_fingerprint_is_a_sha256_hex_digest() -> None:
    digest = fingerprint(((1, "a"), {}))
    assert digest is not None and len(digest) == 64 and int(digest, 16) >= 0


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}),
        ({1: "x", "1": "y"}, {"1": "y", 1: "x"}),
        ({"z", "a", "m"}, {"m", "z", "a"}),
        (Pair(1, "a"), Pair(1, "a")),
        (Point(x=1, y=2.0), Point(y=2.0, x=1)),
        (np.arange(4), np.arange(4)),
        (Color.RED, Color("red")),
    ],
)
def test_equal_values_have_equal_fingerprints(left: Any, right: Any) -> None:
    assert fingerprint(left) is not None
    assert fingerprint(left) == fingerprint(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ((1, 2), [1, 2]),
        (1, 1.0),
        (1, True),
        (1.0, True),
        (0, False),
        (0.0, -0.0),
        ("1", 1),
        (None, "N"),
        ("ab", b"ab"),
        (b"ab", bytearray(b"ab")),
        (("a", "b"), ("ab",)),
        (("ab", ""), ("a", "b")),
        (["a", ["b"]], [["a"], "b"]),
        ({"a": 1}, {"a": 1.0}),
        ({"a": 1}, [("a", 1)]),
        ({1: 2}, {"1": 2}),
        ({1, 2}, frozenset({1, 2})),
        ({1, 2}, [1, 2]),
        (Color.RED, "red"),
        (Level.LOW, 1),
        (Pair(1, "a"), Pair(2, "a")),
        (Pair(1, "a"), {"left": 1, "right": "a"}),
        (Point(x=1, y=2.0), {"x": 1, "y": 2.0}),
        (np.arange(4, dtype=np.int32), np.arange(4, dtype=np.int64)),
        (np.arange(6).reshape(2, 3), np.arange(6).reshape(3, 2)),
        (b"x" * 5000, b"x" * 5001),
        ((((1, "a"), {}),), ((1, "a"), {})),
    ],
)
def test_different_values_have_different_fingerprints(left: Any, right: Any) -> None:
    assert fingerprint(left) is not None and fingerprint(right) is not None
    assert fingerprint(left) != fingerprint(right)


def test_fingerprints_are_stable_across_processes() -> None:
    value = "((1, 'a'), {'k': [1.5, None, True], 'set': {'x', 'y', 'z'}, 'b': b'raw', 2: (3,)})"
    expected = fingerprint(eval(value))
    digests = {
        run_python(f"from kitaru.serde import fingerprint\nprint(fingerprint({value}))", PYTHONHASHSEED=seed)
        for seed in ("1", "2", "3")
    }
    assert digests == {f"{expected}\n"}


def test_registered_types_have_fingerprints(cleanup: list[type]) -> None:
    assert fingerprint(Opaque(1)) is None
    register_serializer(Opaque, dumps=lambda v: str(v.value).encode(), loads=lambda data: Opaque(int(data)))
    cleanup.append(Opaque)
    assert fingerprint(Opaque(1)) == fingerprint(Opaque(1)) != fingerprint(Opaque(2))
    assert fingerprint(HoldsOpaque(Opaque(1))) is not None


def test_unsupported_values_have_no_fingerprint() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    for value in (
        object(),
        lambda: 1,
        threading.Lock(),
        [1, object()],
        {"k": Opaque(1)},
        {Fraction(1, 2): 1},
        HoldsOpaque(Opaque(1)),
        np.array([object()]),
        cyclic,
        collections.OrderedDict(a=1),
    ):
        assert fingerprint(value) is None, value
