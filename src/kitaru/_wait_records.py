"""Typed records of a wait: what it asks for, and how it was answered.

A wait is a durable call of kind ``wait``. Its request and, once given, its
answer are kept in the call's metadata under the key ``"wait"`` (one flat
dict, so older readers keep working); the answer's value is the call's output
artifact. These records are the only code that reads or writes that dict.

Example:
    >>> request = WaitRequest(name="approve", question="Publish?", schema={"type": "boolean"})
    >>> WaitRequest.from_metadata(request.to_metadata(), default_name="x") == request
    True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["ANSWERED_BY_CLIENT", "ANSWERED_BY_TERMINAL", "WAIT_KEY", "WaitAnswer", "WaitRequest"]

WAIT_KEY: Final = "wait"
"""The key of a wait call's metadata that holds its request and answer."""

ANSWERED_BY_TERMINAL: Final = "terminal"
"""``answered_by`` of an answer typed at the runner's own terminal prompt."""

ANSWERED_BY_CLIENT: Final = "client"
"""``answered_by`` of an answer given through the client (CLI, API)."""

_UNKNOWN_TIME: Final = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class WaitRequest:
    """What a wait asks for, as stored with its call.

    ``name`` is the wait's invocation id; ``schema`` the JSON schema an answer
    must match (``None``: a continue/abort gate); ``timeout`` how long the
    runner polls before it releases its thread, in seconds.
    """

    name: str
    question: str | None = None
    schema: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None

    def to_metadata(self) -> dict[str, Any]:
        """The call metadata that records this request (no answer yet)."""
        return {
            WAIT_KEY: {
                "name": self.name,
                "question": self.question,
                "schema": self.schema,
                "metadata": dict(self.metadata),
                "timeout": self.timeout,
            }
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any], *, default_name: str) -> WaitRequest:
        """Read the request from a wait call's metadata (``default_name`` when unnamed)."""
        info = metadata.get(WAIT_KEY) or {}
        timeout = info.get("timeout")
        return cls(
            name=info.get("name") or default_name,
            question=info.get("question"),
            schema=info.get("schema"),
            metadata=dict(info.get("metadata") or {}),
            timeout=None if timeout is None else float(timeout),
        )


@dataclass(frozen=True, slots=True)
class WaitAnswer:
    """How a wait was answered.

    ``value_artifact_id`` is the stored answer (the call's output; ``None`` when
    aborted); ``answered_by`` is :data:`ANSWERED_BY_TERMINAL` or
    :data:`ANSWERED_BY_CLIENT`.
    """

    aborted: bool
    answered_by: str
    answered_at: dt.datetime
    value_artifact_id: str | None = None

    def to_metadata(self) -> dict[str, Any]:
        """The call metadata patch that records this answer (the value is the call's output)."""
        return {
            WAIT_KEY: {
                "aborted": self.aborted,
                "answered_by": self.answered_by,
                "answered_at": self.answered_at.isoformat(),
            }
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any], *, output_artifact_id: str | None) -> WaitAnswer | None:
        """Read the answer from a wait call's metadata; ``None`` while it is not answered."""
        info = metadata.get(WAIT_KEY) or {}
        if "aborted" not in info:
            return None
        answered_at = info.get("answered_at")
        return cls(
            aborted=bool(info["aborted"]),
            answered_by=str(info.get("answered_by") or ANSWERED_BY_CLIENT),
            answered_at=dt.datetime.fromisoformat(answered_at) if answered_at else _UNKNOWN_TIME,
            value_artifact_id=None if info["aborted"] else output_artifact_id,
        )
