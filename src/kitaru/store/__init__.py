"""Metadata stores: the interface (:mod:`kitaru.store.base`) and the SQL implementation."""

__all__: list[str] = []
