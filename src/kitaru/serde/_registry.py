"""Choosing a serializer for a value, registering custom ones, and loading back.

User-registered serializers win (exact type first, then the type's MRO), then
the built-ins in order: json (also for a tuple of JSON values, loaded back as a
tuple), pydantic, dataclass, bytes, numpy, pickle.

Example:
    >>> sv = serialize({"answer": 42})
    >>> sv.serializer, deserialize(sv.serializer, sv.type_path, sv.data)
    ('json', {'answer': 42})
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Final

from kitaru._sources import ScriptSource, scripts_from
from kitaru._types import FLAG_WORDS, parse_flag
from kitaru.errors import KitaruError, KitaruStateError, KitaruUsageError
from kitaru.serde._base import SerializedValue, Serializer, type_path_of
from kitaru.serde._builtin import BUILTIN_SERIALIZERS, JSON, PICKLE, TUPLE_PATH, dump_str, is_json_native

__all__ = [
    "ALLOW_PICKLE_ENV",
    "deserialize",
    "find_custom",
    "get_serializer",
    "pickle_allowed_by_default",
    "register_serializer",
    "serialize",
    "unregister_serializer",
]

#: Environment variable that sets whether pickles may be loaded (``1`` allows, ``0`` refuses).
ALLOW_PICKLE_ENV: Final = "KITARU_ALLOW_PICKLE"

_BUILTIN_BY_NAME: Final[dict[str, Serializer]] = {s.name: s for s in BUILTIN_SERIALIZERS}
_FALLBACKS: Final = BUILTIN_SERIALIZERS[1:-1]  # json and pickle are handled around the loop
_NONE_TYPE: Final = type(None)

# Registry state: replaced as a whole under the lock (copy on write), read
# without it. A reader sees either the old or the new mapping, never a mix.
_lock = threading.Lock()
_by_type: dict[type, Serializer] = {}
_by_name: dict[str, Serializer] = {}


class _CallableSerializer:
    """A serializer built from ``dumps``/``loads`` callables."""

    __slots__ = ("dump", "load", "name", "show")

    def __init__(
        self,
        name: str,
        dump: Callable[[Any], bytes],
        load: Callable[[bytes], Any],
        show: Callable[[Any], str | bytes | None] | None,
    ) -> None:
        self.name = name
        self.dump = dump
        self.load = load
        self.show = show

    def __repr__(self) -> str:
        return f"<serializer {self.name!r} from callables>"

    def can_serialize(self, value: Any) -> bool:
        return True

    def dumps(self, value: Any) -> bytes:
        return self.dump(value)

    def loads(self, data: bytes, type_path: str) -> Any:
        return self.load(data)

    def visualize(self, value: Any) -> str | bytes | None:
        return None if self.show is None else self.show(value)


def register_serializer(
    type_: type,
    serializer: Serializer | None = None,
    *,
    dumps: Callable[[Any], bytes] | None = None,
    loads: Callable[[bytes], Any] | None = None,
    name: str | None = None,
    visualize: Callable[[Any], str | bytes | None] | None = None,
) -> Serializer:
    """Register how values of ``type_`` (and its subclasses) are serialized.

    Give either a :class:`Serializer` object or ``dumps``/``loads`` callables
    (``loads(data: bytes)`` returns the value). The serializer's name is
    recorded with every artifact it writes; loading needs a serializer of that
    name registered in the loading process. Registering a type again replaces
    its serializer. Thread-safe.

    Args:
        type_: The class whose instances (and subclass instances) this handles.
        serializer: A serializer object (exclusive with ``dumps``/``loads``).
        dumps: Callable turning a value into bytes.
        loads: Callable turning those bytes back into a value.
        name: Registry name for callables; defaults to ``"custom:" + type path``.
        visualize: Optional callable returning markdown/HTML/image for a dashboard.

    Returns:
        The registered serializer.

    Raises:
        KitaruUsageError: An argument is missing, of the wrong kind, or the name
            is taken by a built-in or by another type's serializer.

    Example:
        >>> from fractions import Fraction
        >>> _ = register_serializer(
        ...     Fraction, dumps=lambda f: str(f).encode(), loads=lambda b: Fraction(b.decode())
        ... )
        >>> sv = serialize(Fraction(1, 3))
        >>> sv.serializer, deserialize(sv.serializer, sv.type_path, sv.data)
        ('custom:fractions:Fraction', Fraction(1, 3))
        >>> unregister_serializer(Fraction)
        True
    """
    if not isinstance(type_, type):
        raise KitaruUsageError(f"register_serializer() needs a class as its first argument, got {type_!r}.")
    chosen = _build(type_, serializer, dumps=dumps, loads=loads, name=name, visualize=visualize)
    global _by_type, _by_name
    with _lock:
        owner = _by_name.get(chosen.name)
        if owner is not None and owner is not chosen and _by_type.get(type_) is not owner:
            raise KitaruUsageError(
                f"The serializer name {chosen.name!r} is already used by another type's serializer; "
                f"choose a different name= for {type_path_of(type_)}."
            )
        by_type = dict(_by_type)
        by_type[type_] = chosen
        _by_name = {s.name: s for s in by_type.values()}
        _by_type = by_type
    return chosen


def _build(
    type_: type,
    serializer: Serializer | None,
    *,
    dumps: Callable[[Any], bytes] | None,
    loads: Callable[[bytes], Any] | None,
    name: str | None,
    visualize: Callable[[Any], str | bytes | None] | None,
) -> Serializer:
    path = type_path_of(type_)
    if serializer is not None:
        if dumps is not None or loads is not None or name is not None or visualize is not None:
            raise KitaruUsageError(
                f"register_serializer({path}): pass either a serializer object or "
                "dumps=/loads= (with optional name=/visualize=), not both; a serializer "
                "object carries its own name and visualize()."
            )
        for attr in ("can_serialize", "dumps", "loads"):
            if not callable(getattr(serializer, attr, None)):
                raise KitaruUsageError(
                    f"register_serializer({path}): {serializer!r} has no callable {attr}(); "
                    "a serializer needs name, can_serialize(value), dumps(value) and "
                    "loads(data, type_path)."
                )
        _check_name(path, getattr(serializer, "name", None))
        return serializer
    if dumps is None or loads is None:
        raise KitaruUsageError(
            f"register_serializer({path}) needs a serializer object or both dumps= and loads=, "
            "e.g. register_serializer(MyType, dumps=lambda v: ..., loads=lambda data: ...)."
        )
    for label, func in (("dumps", dumps), ("loads", loads), ("visualize", visualize)):
        if func is not None and not callable(func):
            raise KitaruUsageError(f"register_serializer({path}): {label}= must be callable, got {func!r}.")
    chosen_name = f"custom:{path}" if name is None else name
    _check_name(path, chosen_name)
    return _CallableSerializer(chosen_name, dumps, loads, visualize)


def _check_name(path: str, name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise KitaruUsageError(
            f"register_serializer({path}): the serializer name must be a non-empty string, got {name!r}."
        )
    if name in _BUILTIN_BY_NAME:
        raise KitaruUsageError(
            f"register_serializer({path}): {name!r} is the name of a built-in serializer; "
            "choose another name (e.g. 'custom:...')."
        )


def unregister_serializer(type_: type) -> bool:
    """Remove the serializer registered for exactly ``type_``; return whether one was.

    Example:
        >>> unregister_serializer(complex)
        False
    """
    global _by_type, _by_name
    with _lock:
        if type_ not in _by_type:
            return False
        by_type = {t: s for t, s in _by_type.items() if t is not type_}
        _by_name = {s.name: s for s in by_type.values()}
        _by_type = by_type
    return True


def find_custom(cls: type) -> Serializer | None:
    """Return the registered serializer for ``cls`` (exact type, then MRO), if any.

    Example:
        >>> find_custom(complex) is None
        True
    """
    registered = _by_type
    if not registered:
        return None
    found = registered.get(cls)
    if found is not None:
        return found
    for base in cls.__mro__[1:]:
        found = registered.get(base)
        if found is not None:
            return found
    return None


def get_serializer(name: str) -> Serializer | None:
    """Return the serializer registered (or built in) under ``name``.

    Example:
        >>> get_serializer("json").name
        'json'
    """
    return _by_name.get(name) or _BUILTIN_BY_NAME.get(name)


def serialize(value: Any) -> SerializedValue:
    """Serialize ``value`` with the first serializer that handles it.

    Raises:
        KitaruUsageError: Nothing can serialize the value (pickle fails too), or
            a registered serializer failed; the message names the type.

    Example:
        >>> serialize(3)
        SerializedValue(serializer='json', type_path='builtins:int', data=b'3')
    """
    cls = type(value)
    if _by_type:
        custom = find_custom(cls)
        if custom is not None and custom.can_serialize(value):
            return _dump_custom(custom, value, cls)
    # Fast path for small scalars: this runs for every checkpoint output.
    if cls is int:
        try:
            return SerializedValue("json", "builtins:int", int.__repr__(value).encode())
        except ValueError:  # too many digits for a decimal string: pickle takes it
            pass
    elif cls is str:
        return SerializedValue("json", "builtins:str", dump_str(value))
    elif cls is bool:
        return SerializedValue("json", "builtins:bool", b"true" if value else b"false")
    elif value is None:
        return SerializedValue("json", "builtins:NoneType", b"null")
    elif cls is float:
        text = float.__repr__(value)
        data = text.encode() if text[-1] not in "fn" else JSON.dumps(value)  # inf/nan spell differently
        return SerializedValue("json", "builtins:float", data)
    elif cls is dict:
        if is_json_native(value):
            return SerializedValue("json", "builtins:dict", JSON.dumps(value))
    elif cls is list and is_json_native(value):
        return SerializedValue("json", "builtins:list", JSON.dumps(value))
    elif cls is tuple and is_json_native(list(value)):  # a JSON array that loads back as a tuple
        return SerializedValue("json", TUPLE_PATH, JSON.dumps(value))
    for candidate in _FALLBACKS:
        if candidate.can_serialize(value):
            try:
                return SerializedValue(candidate.name, type_path_of(cls), candidate.dumps(value))
            except Exception:  # e.g. a model that does not round-trip: fall through to pickle
                continue
    try:
        return SerializedValue("pickle", type_path_of(cls), PICKLE.dumps(value))
    except Exception as exc:
        raise _unserializable(cls, exc) from exc


def _dump_custom(serializer: Serializer, value: Any, cls: type) -> SerializedValue:
    path = type_path_of(cls)
    try:
        data = serializer.dumps(value)
    except Exception as exc:
        raise KitaruUsageError(
            f"The serializer {serializer.name!r} registered for {path} failed on a value of that type: "
            f"{type(exc).__name__}: {exc}. Fix its dumps() or return a different value."
        ) from exc
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise KitaruUsageError(
                f"The serializer {serializer.name!r} registered for {path} returned "
                f"{type(data).__name__} from dumps(); it must return bytes."
            )
        data = bytes(data)
    return SerializedValue(serializer.name, path, data)


def _unserializable(cls: type, exc: BaseException) -> KitaruUsageError:
    return KitaruUsageError(
        f"Cannot serialize a value of type {type_path_of(cls)}: pickle failed with "
        f"{type(exc).__name__}: {exc}. Return a serializable value instead (JSON data, a pydantic "
        "model, a dataclass, bytes, a picklable object), or register a serializer for the type: "
        f"kitaru.register_serializer({cls.__qualname__}, dumps=..., loads=...)."
    )


def _pickle_setting() -> tuple[bool, str] | None:
    """The explicit ``KITARU_ALLOW_PICKLE`` (allowed, as written), ``None`` when unset.

    Read strictly: a value other than a yes/no word is an error, never a guess.
    """
    raw = os.environ.get(ALLOW_PICKLE_ENV)
    if raw is None:
        return None
    flag = parse_flag(raw)
    if flag is None:
        raise KitaruUsageError(
            f"environment variable {ALLOW_PICKLE_ENV}={raw!r} is not a boolean; use {FLAG_WORDS} "
            f"({ALLOW_PICKLE_ENV}=1 allows loading pickles, {ALLOW_PICKLE_ENV}=0 refuses it), or unset "
            "it for the default: allowed on the embedded local store, refused on a shared store "
            "(PostgreSQL, a server)."
        )
    return flag, raw.strip()


def pickle_allowed_by_default(*, shared_store: bool = False) -> bool:
    """Whether pickles may be loaded when the caller does not say.

    ``KITARU_ALLOW_PICKLE`` decides when it is set (``1/true/yes/on`` or
    ``0/false/no/off``, any case); unset, pickles are allowed from the embedded
    local store and refused from a shared one (``shared_store=True``: PostgreSQL,
    a server), where anyone who can write the store could plant one.

    Raises:
        KitaruUsageError: ``KITARU_ALLOW_PICKLE`` has any other value (empty included).

    Example:
        >>> isinstance(pickle_allowed_by_default(), bool)
        True
    """
    setting = _pickle_setting()
    return not shared_store if setting is None else setting[0]


def _check_pickle(type_path: str, allow_pickle: bool | None, shared_store: bool) -> None:
    """Raise unless a pickle may be loaded; the message says why not and how to allow it."""
    if allow_pickle is None:
        setting = _pickle_setting()
        if (not shared_store) if setting is None else setting[0]:
            return
        if setting is None:
            why = (
                "the value comes from a shared store (PostgreSQL or a server), where anyone who can write "
                f"the store could plant one, and {ALLOW_PICKLE_ENV} is not set"
            )
        else:
            why = f"{ALLOW_PICKLE_ENV}={setting[1]} refuses them"
    elif allow_pickle:
        return
    else:
        why = "the caller refused them (allow_pickle=False)"
    raise KitaruStateError(
        f"Refusing to load a pickled value of type {type_path}: loading pickles is disabled because "
        f"{why}; unpickling runs code from the data. Set {ALLOW_PICKLE_ENV}=1 only if you trust "
        "everyone who can write this store, or register a serializer for the type "
        "(kitaru.register_serializer) so that new values are not pickled."
    )


def deserialize(
    serializer: str,
    type_path: str,
    data: bytes | bytearray | memoryview,
    *,
    allow_pickle: bool | None = None,
    shared_store: bool = False,
    script: ScriptSource = None,
) -> Any:
    """Load a value written by :func:`serialize`.

    Args:
        serializer: The recorded serializer name.
        type_path: The recorded type path.
        data: The recorded bytes.
        allow_pickle: Whether a pickle may be loaded; ``None`` follows
            :func:`pickle_allowed_by_default` for ``shared_store``.
        shared_store: Whether the data comes from a store that others can write
            (PostgreSQL, a server): pickles from it are refused unless allowed.
        script: The script of the value's execution, when its flow was defined in a
            script run as ``__main__`` (a path, or a callable returning it when
            needed): what ``__main__`` in the value's types means.

    Raises:
        KitaruStateError: The serializer is not registered in this process,
            pickles are refused, or the data cannot be loaded. Code that cannot be
            loaded here (not found, or not in a trusted place) raises its subclass
            ``CodeNotLoadable``: the data is fine, another process can load it.
        KitaruUsageError: ``KITARU_ALLOW_PICKLE`` is invalid (only read for a pickle).

    Example:
        >>> deserialize("json", "builtins:list", b"[1,2]")
        [1, 2]
    """
    raw = data if type(data) is bytes else bytes(data)
    if serializer == "json":
        try:
            return JSON.loads(raw, type_path)
        except ValueError as exc:
            raise _unloadable(serializer, type_path, exc) from exc
    found = _by_name.get(serializer) or _BUILTIN_BY_NAME.get(serializer)
    if found is None:
        raise KitaruStateError(
            f"A value of type {type_path} was saved with the serializer {serializer!r}, which is not "
            "registered in this process. Register it before loading: import the module that calls "
            "kitaru.register_serializer(...) for that type, with the same name."
        )
    if found is PICKLE:
        _check_pickle(type_path, allow_pickle, shared_store)
    try:
        if script is None:
            return found.loads(raw, type_path)
        with scripts_from(script, named_by="the source reference of the value's execution"):
            return found.loads(raw, type_path)
    except KitaruError:
        raise
    except Exception as exc:
        raise _unloadable(serializer, type_path, exc) from exc


def _unloadable(serializer: str, type_path: str, exc: Exception) -> KitaruStateError:
    if isinstance(exc, ImportError):
        extra = " (pip install 'kitaru[numpy]')" if exc.name == "numpy" else ""
        hint = f"Install the missing module {exc.name!r} in this environment{extra}."
    else:
        hint = "The data may be corrupt, or the type changed since it was saved."
    return KitaruStateError(
        f"Cannot load a value of type {type_path} with the serializer {serializer!r}: "
        f"{type(exc).__name__}: {exc}. {hint}"
    )
