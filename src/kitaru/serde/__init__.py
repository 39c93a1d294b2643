"""Serialization of checkpoint values, and fingerprints of checkpoint arguments.

Each value gets a serializer chosen by type, recorded with the value so that
loading rebuilds the same type: user-registered serializers first, then JSON
for JSON-native values, pydantic models, dataclasses, bytes, numpy arrays, and
pickle as the last resort. Importing this package imports neither pydantic nor
numpy.

Example:
    >>> from kitaru.serde import deserialize, serialize
    >>> sv = serialize([1, "two", 3.0])
    >>> sv.serializer
    'json'
    >>> deserialize(sv.serializer, sv.type_path, sv.data)
    [1, 'two', 3.0]
"""

from kitaru.serde._base import SerializedValue, Serializer, resolve_type, type_path_of
from kitaru.serde._builtin import BUILTIN_SERIALIZERS, is_json_native
from kitaru.serde._fingerprint import fingerprint
from kitaru.serde._registry import (
    ALLOW_PICKLE_ENV,
    deserialize,
    get_serializer,
    pickle_allowed_by_default,
    register_serializer,
    serialize,
    unregister_serializer,
)
from kitaru.serde._types import describe_type, rebuild_type
from kitaru.serde._visualize import visualization

__all__ = [
    "ALLOW_PICKLE_ENV",
    "BUILTIN_SERIALIZERS",
    "SerializedValue",
    "Serializer",
    "describe_type",
    "deserialize",
    "fingerprint",
    "get_serializer",
    "is_json_native",
    "pickle_allowed_by_default",
    "rebuild_type",
    "register_serializer",
    "resolve_type",
    "serialize",
    "type_path_of",
    "unregister_serializer",
    "visualization",
]
