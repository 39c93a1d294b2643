"""What a provider module returns, and how it reports a failed request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["RETRYABLE_STATUSES", "ProviderFailure", "Reply", "SdkClients", "retry_after_seconds"]


@dataclass(frozen=True, slots=True)
class Reply:
    """One response of a provider: its text and token usage (``None`` when not reported)."""

    text: str
    input_tokens: int | None
    output_tokens: int | None


class ProviderFailure(Exception):
    """A request the provider refused or could not answer.

    ``retryable``: a rate limit, an overloaded or failing server, a timeout or a lost
    connection (worth trying again); any other refusal (a bad request, a wrong key, an
    unknown model) is not.
    """

    def __init__(
        self, message: str, *, status: int | None, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


#: HTTP statuses a request is retried on: timeouts, conflicts, rate limits, server errors.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def retry_after_seconds(headers: object) -> float | None:
    """The delay a response asks for (``retry-after-ms`` or ``retry-after`` in seconds), if any."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except (TypeError, ValueError):
            return None
    return None


class SdkClients:
    """One SDK client per endpoint and key, kept for the process (its connection pool is reused).

    ``make(base_url, api_key)`` builds a client; it is called once per pair, also when several
    threads ask at once.
    """

    def __init__(self, make: Callable[[str | None, str], Any]) -> None:
        self._make = make
        self._clients: dict[tuple[str | None, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, base_url: str | None, api_key: str) -> Any:
        """The client of ``base_url`` and ``api_key``, made on first use."""
        key = (base_url, api_key)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = self._make(base_url, api_key)
        return client
