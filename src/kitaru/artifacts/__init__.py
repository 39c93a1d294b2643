"""Artifact stores: the interface (:mod:`kitaru.artifacts.base`) and backends."""

__all__: list[str] = []
