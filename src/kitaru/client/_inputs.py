"""Checking answers to pending waits against their JSON schema (the one check, shared)."""

from __future__ import annotations

from kitaru._answers import validate_answer

__all__ = ["validate_answer"]
