"""A registered serializer's ``visualize()``: computed by the runner when the value is saved
(a checkpoint's output, ``kitaru.save``, the flow's result, its arguments) and kept in the
artifact's metadata for the dashboard, which never runs user code."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.serde import register_serializer, serialize, unregister_serializer, visualization
from kitaru.serde._visualize import MAX_VISUALIZATION_BYTES, describe_visualization

pytestmark = pytest.mark.both_modes

PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)


class Gauge:
    def __init__(self, level: float) -> None:
        self.level = level


class Broken:
    pass


def _raise(_: Any) -> str:
    raise ValueError("cannot draw this")


@pytest.fixture(autouse=True)
def serializers() -> Iterator[None]:
    register_serializer(
        Gauge,
        dumps=lambda g: str(g.level).encode(),
        loads=lambda d: Gauge(float(d)),
        visualize=lambda g: f"**{g.level}%**",
    )
    register_serializer(Broken, dumps=lambda b: b"", loads=lambda d: Broken(), visualize=_raise)
    try:
        yield
    finally:
        unregister_serializer(Gauge)
        unregister_serializer(Broken)


@checkpoint
def measure(level: float) -> Gauge:
    kitaru.save("broken", Broken())
    kitaru.save("plain", {"level": level})
    return Gauge(level)


@flow
def gauges(start: Gauge) -> Gauge:
    measure(start.level + 1)
    return Gauge(start.level + 2)


def _shown(exec_id: str, name: str) -> Any:
    (ref,) = KitaruClient().artifacts.list(exec_id, name=name)
    return (ref.metadata.get("kitaru") or {}).get("visualization")


def test_visualizations_are_stored_with_the_values(store_mode: str) -> None:
    handle = gauges.run(Gauge(10))
    assert handle.wait(timeout=30).level == 12
    exec_id = handle.exec_id
    assert _shown(exec_id, "start") == {"media_type": "text/markdown", "text": "**10%**"}
    assert _shown(exec_id, "measure") == {"media_type": "text/markdown", "text": "**11%**"}
    assert _shown(exec_id, "result") == {"media_type": "text/markdown", "text": "**12%**"}
    assert _shown(exec_id, "plain") is None  # built-in serializers draw nothing
    broken = _shown(exec_id, "broken")
    assert "failed: ValueError: cannot draw this" in broken["error"]  # and the save still happened
    (start,) = KitaruClient().artifacts.list(exec_id, name="start")
    assert start.metadata["kitaru"]["argument"] == 0  # the argument's own metadata is kept


def test_what_visualize_may_return(store_mode: str) -> None:
    assert describe_visualization(None) is None
    assert describe_visualization(" <table></table>")["media_type"] == "text/html"
    assert describe_visualization("# Title")["media_type"] == "text/markdown"
    image = describe_visualization(PNG)
    assert image == {"media_type": "image/png", "base64": base64.b64encode(PNG).decode(), "size": len(PNG)}
    webp = describe_visualization(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert webp is not None and webp["media_type"] == "image/webp"
    assert "not a PNG, JPEG, GIF or WebP" in describe_visualization(b"plain bytes")["error"]
    assert "returned a int" in describe_visualization(3)["error"]
    huge = describe_visualization("x" * (MAX_VISUALIZATION_BYTES + 1))
    assert huge is not None and "text" not in huge and "larger than" in huge["error"]
    assert visualization(Gauge(1), serialize(Gauge(1))) == {"media_type": "text/markdown", "text": "**1%**"}
    assert visualization("text", serialize("text")) is None
