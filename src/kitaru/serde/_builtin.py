"""The built-in serializers: json, pydantic, dataclass, bytes, numpy and pickle.

They are tried in that order. pydantic and numpy are never imported here: a
value can only be a pydantic model or a numpy array when its library is
already imported, so :data:`sys.modules` is checked instead.

Example:
    >>> JSON.can_serialize({"a": [1, 2.5, None]}), JSON.can_serialize((1, 2))
    (True, False)
"""

from __future__ import annotations

import io
import json
import sys
import weakref
from typing import Any, Final

from kitaru.serde._base import remember_type, resolve_type

__all__ = [
    "BUILTIN_SERIALIZERS",
    "BYTES",
    "DATACLASS",
    "JSON",
    "NUMPY",
    "PICKLE",
    "PYDANTIC",
    "BytesSerializer",
    "DataclassSerializer",
    "JsonSerializer",
    "NumpySerializer",
    "PickleSerializer",
    "PydanticSerializer",
    "TUPLE_PATH",
    "dump_str",
    "is_json_native",
]

TUPLE_PATH: Final = "builtins:tuple"
"""The type path of a tuple stored as a JSON array by the json serializer."""

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_ASCII_ENCODER: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False)
_DECODER: Final = json.JSONDecoder()
_encode_str = json.encoder.encode_basestring
_encode_str_ascii = json.encoder.encode_basestring_ascii


def is_json_native(value: Any) -> bool:
    """Whether ``value`` is built only of exact JSON types and loads back equal.

    Exact types only: a ``str`` enum, a tuple, a dict with non-``str`` keys or a
    ``dict`` subclass are not JSON-native, because JSON would not give them back.

    Example:
        >>> is_json_native({"a": [1, "x", None]}), is_json_native({1: "a"})
        (True, False)
    """
    try:
        return _native(value)
    except RecursionError:  # a cycle or very deep nesting: leave it to pickle
        return False


def _native(value: Any) -> bool:
    cls = type(value)
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return True
    # Explicit loops rather than all(...): this runs for every checkpoint value.
    if cls is list:
        for item in value:  # noqa: SIM110
            if not _native(item):
                return False
        return True
    if cls is dict:
        for key, item in value.items():  # noqa: SIM110
            if type(key) is not str or not _native(item):
                return False
        return True
    return False


def dump_str(value: str) -> bytes:
    """Encode one ``str`` as JSON bytes (the fast path of the json serializer).

    Example:
        >>> dump_str("hi")
        b'"hi"'
    """
    try:
        return _encode_str(value).encode()
    except UnicodeEncodeError:  # lone surrogates: escape them, JSON loads them back
        return _encode_str_ascii(value).encode()


class JsonSerializer:
    """Values made only of dict (``str`` keys), list, str, int, float, bool and None.

    A tuple of such values is stored as a JSON array with the type path
    ``builtins:tuple`` and loads back as a tuple (see :func:`kitaru.serde.serialize`).

    Example:
        >>> JSON.loads(JSON.dumps({"a": [1.0, True]}), "builtins:dict")
        {'a': [1.0, True]}
        >>> JSON.loads(JSON.dumps((1, "x")), TUPLE_PATH)
        (1, 'x')
    """

    name = "json"

    def can_serialize(self, value: Any) -> bool:
        """Whether ``value`` is exactly JSON-native (see :func:`is_json_native`)."""
        return is_json_native(value)

    def dumps(self, value: Any) -> bytes:
        """Encode compactly as UTF-8 JSON."""
        if type(value) is str:
            return dump_str(value)
        try:
            return _ENCODER.encode(value).encode()
        except UnicodeEncodeError:
            return _ASCII_ENCODER.encode(value).encode()

    def loads(self, data: bytes, type_path: str) -> Any:
        """Decode JSON bytes (an array saved from a tuple loads back as a tuple)."""
        value = _decode(data)
        if type_path == TUPLE_PATH and type(value) is list:
            return tuple(value)
        return value


def _decode(data: bytes) -> Any:
    try:
        text = data.decode()
        value, end = _DECODER.raw_decode(text)
        if end == len(text):
            return value
    except ValueError:
        pass
    return json.loads(data)  # other encodings, surrounding whitespace, or the precise error


class PydanticSerializer:
    """pydantic models: ``model_dump_json`` plus the class path.

    A model whose JSON does not load back equal (e.g. an ``Any`` field holding
    a tuple, private attributes) is refused, so it falls through to pickle.

    Example:
        >>> PYDANTIC.can_serialize(1)
        False
    """

    name = "pydantic"

    def can_serialize(self, value: Any) -> bool:
        """Whether ``value`` is a pydantic (v2) model instance."""
        main = sys.modules.get("pydantic.main")
        return main is not None and isinstance(value, main.BaseModel)

    def dumps(self, value: Any) -> bytes:
        """Encode with ``model_dump_json``; raise when it does not round-trip."""
        data: bytes = value.model_dump_json().encode()
        if type(value).model_validate_json(data) != value:
            raise ValueError(f"{type(value).__qualname__} does not load back equal from its JSON")
        remember_type(type(value))
        return data

    def loads(self, data: bytes, type_path: str) -> Any:
        """Import the class and ``model_validate_json``."""
        return resolve_type(type_path).model_validate_json(data)  # type: ignore[attr-defined]


_adapters: weakref.WeakKeyDictionary[type, Any] = weakref.WeakKeyDictionary()


def _adapter(cls: type) -> Any:
    adapter = _adapters.get(cls)
    if adapter is None:
        from pydantic import TypeAdapter  # lazy: only when a dataclass is serialized

        adapter = _adapters[cls] = TypeAdapter(cls)
    return adapter


class DataclassSerializer:
    """Dataclass instances (nested dataclasses and models too) as JSON via pydantic.

    Refused (so pickle takes over) when pydantic cannot handle a field type, a
    field value does not match its annotation, or the JSON does not load back
    equal.

    Example:
        >>> DATACLASS.can_serialize(1)
        False
    """

    name = "dataclass"

    def can_serialize(self, value: Any) -> bool:
        """Whether ``value`` is a dataclass instance (not a dataclass type)."""
        return hasattr(type(value), "__dataclass_fields__") and not isinstance(value, type)

    def dumps(self, value: Any) -> bytes:
        """Encode with a ``TypeAdapter`` of the class; raise when it does not round-trip."""
        cls = type(value)
        adapter = _adapter(cls)
        data: bytes = adapter.dump_json(value, warnings="error")
        if cls.__dataclass_params__.eq and adapter.validate_json(data) != value:
            raise ValueError(f"{cls.__qualname__} does not load back equal from its JSON")
        remember_type(cls)
        return data

    def loads(self, data: bytes, type_path: str) -> Any:
        """Import the class and validate the JSON with a ``TypeAdapter``."""
        return _adapter(resolve_type(type_path)).validate_json(data)


class BytesSerializer:
    """``bytes``, ``bytearray`` and ``memoryview``, stored raw.

    ``bytes`` and ``bytearray`` load back as themselves; a ``memoryview`` loads
    back as ``bytes`` (its memory cannot be shared across processes).

    Example:
        >>> BYTES.loads(BYTES.dumps(bytearray(b"ab")), "builtins:bytearray")
        bytearray(b'ab')
    """

    name = "bytes"

    def can_serialize(self, value: Any) -> bool:
        """Whether ``value`` is exactly ``bytes``/``bytearray`` or a ``memoryview``."""
        cls = type(value)
        return cls is bytes or cls is bytearray or cls is memoryview

    def dumps(self, value: Any) -> bytes:
        """Return the raw bytes."""
        if type(value) is memoryview:
            return value.tobytes()
        return bytes(value)

    def loads(self, data: bytes, type_path: str) -> Any:
        """Return ``bytearray`` when one was saved, else ``bytes``."""
        if type_path == "builtins:bytearray":
            return bytearray(data)
        return bytes(data)


class NumpySerializer:
    """numpy arrays and scalars in ``.npy`` format, never with pickled objects.

    Example:
        >>> NUMPY.can_serialize([1, 2])
        False
    """

    name = "numpy"

    def can_serialize(self, value: Any) -> bool:
        """Whether ``value`` is exactly a ``numpy.ndarray`` or a numpy scalar."""
        np = sys.modules.get("numpy")
        if np is None:
            return False
        return type(value) is np.ndarray or isinstance(value, np.generic)

    def dumps(self, value: Any) -> bytes:
        """Encode with ``numpy.save(..., allow_pickle=False)``."""
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, value if type(value) is np.ndarray else np.asarray(value), allow_pickle=False)
        return buffer.getvalue()

    def loads(self, data: bytes, type_path: str) -> Any:
        """Decode with ``numpy.load(..., allow_pickle=False)``; scalars come back as scalars."""
        import numpy as np

        array = np.load(io.BytesIO(data), allow_pickle=False)
        return array if type_path == "numpy:ndarray" else array[()]


class PickleSerializer:
    """Anything picklable (protocol 5): the last resort.

    Example:
        >>> PICKLE.loads(PICKLE.dumps((1, 2)), "builtins:tuple")
        (1, 2)
    """

    name = "pickle"

    def can_serialize(self, value: Any) -> bool:
        """Always ``True``: whether pickling works is only known by trying."""
        return True

    def dumps(self, value: Any) -> bytes:
        """Pickle with protocol 5."""
        import pickle

        return pickle.dumps(value, protocol=5)

    def loads(self, data: bytes, type_path: str) -> Any:
        """Unpickle (the caller decides whether pickles are allowed); what the pickle names is
        imported only from trusted places, ``__main__`` as the execution's script."""
        from kitaru.serde._unpickle import load_pickle

        return load_pickle(data)


JSON: Final = JsonSerializer()
PYDANTIC: Final = PydanticSerializer()
DATACLASS: Final = DataclassSerializer()
BYTES: Final = BytesSerializer()
NUMPY: Final = NumpySerializer()
PICKLE: Final = PickleSerializer()

#: The built-in serializers in the order they are tried.
BUILTIN_SERIALIZERS: Final = (JSON, PYDANTIC, DATACLASS, BYTES, NUMPY, PICKLE)
