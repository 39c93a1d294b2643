"""What someone with write access to a store can plant there: a crafted pickle in an artifact row."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import sqlalchemy as sa

__all__ = ["crafted_pickle", "plant_value"]


class _TouchOnLoad:
    """Unpickling it creates a file: the side effect proves that the pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return Path.touch, (self.marker,)


def crafted_pickle(marker: Path) -> bytes:
    """Pickle bytes whose loading creates ``marker``."""
    return pickle.dumps(_TouchOnLoad(marker))


def plant_value(store_url: str, artifact_id: str, data: bytes, *, serializer: str = "pickle") -> None:
    """Overwrite an artifact row in place, as a writer of the database could (hash consistent)."""
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            changed = conn.execute(
                sa.text(
                    "UPDATE artifacts SET serializer = :serializer, data = :data, blob_key = NULL, "
                    "size = :size, sha256 = :sha256 WHERE artifact_id = :artifact_id"
                ),
                {
                    "serializer": serializer,
                    "data": data,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "artifact_id": artifact_id,
                },
            ).rowcount
        assert changed == 1, f"no artifact row {artifact_id}"
    finally:
        engine.dispose()
