"""Ids, enums and small value helpers shared by every layer.

This module imports nothing from Kitaru, so every other module may import it.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any, Final

__all__ = [
    "COPY_SEPARATOR",
    "FLAG_WORDS",
    "SHORT_ID_LENGTH",
    "UNSET",
    "ArtifactKind",
    "CallKind",
    "CallStatus",
    "CheckpointType",
    "ExecutionStatus",
    "FailureOrigin",
    "Record",
    "Unset",
    "copied_call_id",
    "fill_slots_directly",
    "merge_metadata",
    "new_id",
    "parse_flag",
    "sha256_hex",
    "short_id",
    "utcnow",
]


class Unset:
    """Marker type for "no value given" where ``None`` is a valid value."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset()


class Record:
    """Base of frozen dataclasses whose equality, hash and repr are written once, here.

    A dataclass compiles each method it generates when its module is imported
    (about 0.1 ms each); records on the path of a first execution declare
    ``@dataclass(frozen=True, slots=True, eq=False, repr=False)`` and inherit
    these three instead. They behave exactly as the generated ones: equal when
    of the same class with equal compared fields, the hash of those fields as a
    tuple, and ``ClassName(field=value, ...)``.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True, slots=True, eq=False, repr=False)
        ... class Point(Record):
        ...     x: int
        ...     y: int = 0
        >>> Point(1) == Point(1, 0), Point(1)
        (True, Point(x=1, y=0))
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            compared = _shape(self.__class__)[0]
            return bool(compared(self) == compared(other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(_shape(self.__class__)[1](self))

    @recursive_repr()
    def __repr__(self) -> str:
        names = _shape(self.__class__)[2]
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"


_Getter = Callable[[Any], tuple[Any, ...]]
_shapes: dict[type, tuple[_Getter, _Getter, tuple[str, ...]]] = {}


def _shape(cls: type) -> tuple[_Getter, _Getter, tuple[str, ...]]:
    """A record class's getters of its compared and hashed fields (as tuples), and the
    names of its fields shown by ``repr``, as the dataclass declares them."""
    shape = _shapes.get(cls)
    if shape is None:
        from dataclasses import fields

        declared = fields(cls)
        compared = tuple(f.name for f in declared if f.compare)
        hashed = tuple(f.name for f in declared if (f.compare if f.hash is None else f.hash))
        shape = (_tuple_getter(compared), _tuple_getter(hashed), tuple(f.name for f in declared if f.repr))
        _shapes[cls] = shape
    return shape


def fill_slots_directly(*classes: type) -> None:
    """Give frozen slotted dataclasses an ``__init__`` that fills each slot through its descriptor.

    The generated ``__init__`` of a frozen dataclass sets each field with
    ``object.__setattr__``, about three times slower than the slot's own setter: for
    records built by the ten thousand (calls, attempts, artifacts read back) that is a
    good part of a read. The new ``__init__`` has the same parameters, defaults, default
    factories and annotations; the ``__init__`` of all ``classes`` are compiled together.

    Raises:
        TypeError: A class is not a slotted dataclass whose fields are all ``__init__``
            parameters, or has a ``__post_init__``.

    Example:
        >>> from dataclasses import dataclass, field
        >>> @dataclass(frozen=True, slots=True)
        ... class Pair:
        ...     left: int
        ...     tags: list[str] = field(default_factory=list)
        >>> fill_slots_directly(Pair)
        >>> Pair(1), Pair(2, ["a"]) == Pair(2, ["a"])
        (Pair(left=1, tags=[]), True)
    """
    source: list[str] = []
    bound: dict[str, Any] = {}
    for number, cls in enumerate(classes):
        source += _init_source(cls, number, bound)
    made = ", ".join(f"_init_{number}" for number in range(len(classes)))
    namespace: dict[str, Any] = {}
    exec("\n".join([f"def _make({', '.join(bound)}):", *source, f" return ({made},)"]), {}, namespace)
    for cls, new in zip(classes, namespace["_make"](**bound), strict=True):
        old: Any = cls.__dict__["__init__"]
        new.__defaults__, new.__kwdefaults__ = old.__defaults__, old.__kwdefaults__
        new.__annotations__ = old.__annotations__
        new.__qualname__, new.__module__, new.__doc__ = old.__qualname__, old.__module__, old.__doc__
        cls.__init__ = new  # type: ignore[misc]


def _init_source(cls: type, number: int, bound: dict[str, Any]) -> list[str]:
    """The lines of ``_init_<number>``, the new ``__init__`` of ``cls``; what they call goes in ``bound``."""
    from dataclasses import MISSING, fields

    old: Any = cls.__dict__["__init__"]
    code = old.__code__
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    declared = fields(cls)
    if [f.name for f in declared] != list(names[1:]) or hasattr(cls, "__post_init__"):
        raise TypeError(
            f"{cls.__qualname__}: every field must be an __init__ parameter, without __post_init__"
        )
    positional = old.__defaults__ or ()
    defaults = dict(
        zip(names[code.co_argcount - len(positional) : code.co_argcount], positional, strict=True)
    )
    defaults.update(old.__kwdefaults__ or {})
    body = []
    for index, f in enumerate(declared):
        slot = cls.__dict__.get(f.name)
        if slot is None or not hasattr(slot, "__set__"):
            raise TypeError(f"{cls.__qualname__}: field {f.name!r} is not a slot")
        tag = f"{number}_{index}"
        bound[f"_set_{tag}"] = slot.__set__
        value = f.name
        if f.default_factory is not MISSING:
            bound[f"_make_{tag}"], bound[f"_none_{tag}"] = f.default_factory, defaults[f.name]
            value = f"_make_{tag}() if {f.name} is _none_{tag} else {f.name}"
        body.append(f"  _set_{tag}({names[0]}, {value})")
    keyword = list(names[code.co_argcount :])
    params = ", ".join([*names[: code.co_argcount], *(["*", *keyword] if keyword else [])])
    return [f" def _init_{number}({params}):", *(body or ["  pass"])]


def _tuple_getter(names: tuple[str, ...]) -> _Getter:
    if len(names) > 1:
        getter: _Getter = attrgetter(*names)
        return getter
    if names:
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


class ExecutionStatus(StrEnum):
    """Status of a flow execution.

    Example:
        >>> ExecutionStatus("completed").is_terminal
        True
    """

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """Whether the execution has ended (completed, failed or cancelled)."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)

    @property
    def is_finished(self) -> bool:
        """The same as :attr:`is_terminal` (the name the original API uses)."""
        return self.is_terminal

    @property
    def is_successful(self) -> bool:
        """Whether the execution completed.

        Example:
            >>> ExecutionStatus.FAILED.is_finished, ExecutionStatus.FAILED.is_successful
            (True, False)
        """
        return self is ExecutionStatus.COMPLETED

    def __str__(self) -> str:
        return self.value


class CallStatus(StrEnum):
    """Status of one durable call (checkpoint call, wait, flow-level llm call)."""

    RUNNING = "running"
    COMPLETED = "completed"
    CACHED = "cached"
    FAILED = "failed"

    @property
    def is_done(self) -> bool:
        """Whether the call has an output that a re-run reuses."""
        return self in (CallStatus.COMPLETED, CallStatus.CACHED)

    def __str__(self) -> str:
        return self.value


class CallKind(StrEnum):
    """What a durable call is."""

    CHECKPOINT = "checkpoint"
    WAIT = "wait"
    LLM = "llm"

    def __str__(self) -> str:
        return self.value


class CheckpointType(StrEnum):
    """Well-known checkpoint types, shown specially by the dashboard."""

    LLM_CALL = "llm_call"
    TOOL_CALL = "tool_call"

    def __str__(self) -> str:
        return self.value


class FailureOrigin(StrEnum):
    """Where a failure came from, decided from the exception type where it was raised."""

    USER_CODE = "user_code"
    RUNTIME = "runtime"
    BACKEND = "backend"
    DIVERGENCE = "divergence"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


class ArtifactKind(StrEnum):
    """The role of an artifact: a checkpoint output, a flow result, or a saved value."""

    OUTPUT = "output"
    RESULT = "result"
    INPUT = "input"
    PROMPT = "prompt"
    RESPONSE = "response"
    CONTEXT = "context"
    BLOB = "blob"

    def __str__(self) -> str:
        return self.value


_last_ms = 0
_counter = 0


def new_id() -> str:
    """Return a new time-ordered UUID (version 7) as a string.

    Ids made in one process sort in creation order, even within a millisecond.
    """
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    if ms <= _last_ms:
        ms = _last_ms
        _counter += 1
        if _counter > 0xFFF:  # counter overflow: borrow the next millisecond
            ms += 1
            _counter = 0
    else:
        _counter = 0
    _last_ms = ms
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | _counter << 64 | 0b10 << 62 | rand
    # The text form of uuid.UUID(int=value), without loading uuid (and the platform module it loads).
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_SMALL_DIGEST: Final = 1024
_hashlib: Any = None
_builtin_sha256: Any = None


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    """The sha256 hex digest of ``data``.

    Importing ``hashlib`` loads OpenSSL (a few milliseconds of a first execution in a
    fresh process): until something needs it, up to 1 KiB of data is hashed by the
    interpreter's built-in sha256 (the same digest; a microsecond or two slower per
    KiB). From the first larger value on, or once anything imported ``hashlib``,
    ``hashlib``'s faster one is used.

    Example:
        >>> sha256_hex(b"abc")[:16]
        'ba7816bf8f01cfea'
    """
    global _hashlib, _builtin_sha256
    hashlib = _hashlib
    if hashlib is None:
        hashlib = sys.modules.get("hashlib")
        if hashlib is None:
            if len(data) <= _SMALL_DIGEST:
                if _builtin_sha256 is None:
                    _builtin_sha256 = _find_builtin_sha256()
                if _builtin_sha256 is not False:
                    return str(_builtin_sha256(data).hexdigest())
            import hashlib as loaded

            hashlib = loaded
        _hashlib = hashlib
    return str(hashlib.sha256(data).hexdigest())


def _find_builtin_sha256() -> Any:
    """CPython's own sha256 (``_sha2`` from 3.12, ``_sha256`` before); ``False`` when the
    interpreter was built without it."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # Python 3.12 and later

        return sha256
    except ImportError:
        pass
    try:
        from _sha256 import sha256 as older  # type: ignore[import-not-found]  # Python 3.11

        return older
    except ImportError:
        return False


SHORT_ID_LENGTH = 12
"""How many characters of an id its short form keeps: the last group of the UUID."""


def short_id(full_id: str) -> str:
    """The short form of an id that tables print: its last :data:`SHORT_ID_LENGTH` characters.

    The start of a time-ordered id is its creation time, which ids made within a minute
    share; its end is random (48 bits), so it tells ids apart in practice. Anywhere an id
    is accepted, its short form (or any other unique start or end of it) is too.

    Example:
        >>> short_id("0199c0de-1a2b-7000-8123-3f9a2c1b7e04")
        '3f9a2c1b7e04'
    """
    return full_id[-SHORT_ID_LENGTH:]


def utcnow() -> _dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return _dt.datetime.now(_dt.UTC)


def merge_metadata(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Merge ``new`` into ``old``: dicts merge recursively, other values take the latest.

    Example:
        >>> merge_metadata({"a": {"x": 1}, "b": 1}, {"a": {"y": 2}, "b": 2})
        {'a': {'x': 1, 'y': 2}, 'b': 2}
    """
    result = dict(old or {})
    for key, value in new.items():
        previous = result.get(key)
        if isinstance(previous, dict) and isinstance(value, dict):
            result[key] = merge_metadata(previous, value)
        else:
            result[key] = value
    return result


#: The words a yes/no setting accepts (any case), as error messages list them.
FLAG_WORDS = "1/0, true/false, yes/no or on/off"
_FLAGS = dict.fromkeys(("1", "true", "yes", "on"), True) | dict.fromkeys(("0", "false", "no", "off"), False)


def parse_flag(text: str) -> bool | None:
    """Read a yes/no setting's text strictly: ``None`` for anything but :data:`FLAG_WORDS`.

    Callers turn ``None`` into an error naming the setting and its source.

    Example:
        >>> parse_flag(" Yes "), parse_flag("off"), parse_flag("disabled")
        (True, False, None)
    """
    return _FLAGS.get(text.strip().lower())


#: Joins a replay's exec id and a source call id into the id of the call's copy in the replay.
COPY_SEPARATOR = ":"


def copied_call_id(exec_id: str, source_call_id: str) -> str:
    """Return the id of the copy of call ``source_call_id`` in the replay ``exec_id``.

    The id is derived, not drawn, so the store makes the copies in the database
    and the runtime knows their ids without reading them back. It is unique: a
    source call id is unique, and one replay copies a call at most once.

    Example:
        >>> copied_call_id("e2", "c1")
        'e2:c1'
    """
    return f"{exec_id}{COPY_SEPARATOR}{source_call_id}"
