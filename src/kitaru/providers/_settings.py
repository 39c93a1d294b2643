"""Settings of provider calls read from the environment, validated where they are read."""

from __future__ import annotations

import os

from kitaru.errors import KitaruUsageError

__all__ = ["MOCK_ENV", "max_retries", "mock_response", "retry_delay"]

#: Set to a text: every model call returns it without a provider (tests, demos).
MOCK_ENV = "KITARU_LLM_MOCK_RESPONSE"
_RETRIES_ENV = "KITARU_LLM_MAX_RETRIES"
_DELAY_ENV = "KITARU_LLM_RETRY_DELAY"
_DEFAULT_RETRIES = 3
_DEFAULT_DELAY = 1.0


def mock_response() -> str | None:
    """The fixed response of ``KITARU_LLM_MOCK_RESPONSE``, or ``None`` when it is unset."""
    return os.environ.get(MOCK_ENV)


def max_retries() -> int:
    """How often a rate-limited or transiently failing request is tried again (``KITARU_LLM_MAX_RETRIES``)."""
    raw = os.environ.get(_RETRIES_ENV)
    if raw is None or not raw.strip():
        return _DEFAULT_RETRIES
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise KitaruUsageError(
            f"Environment variable {_RETRIES_ENV} must be a whole number ≥ 0, got {raw!r}."
        )
    return value


def retry_delay() -> float:
    """Seconds before the first retry, doubled after each (``KITARU_LLM_RETRY_DELAY``)."""
    raw = os.environ.get(_DELAY_ENV)
    if raw is None or not raw.strip():
        return _DEFAULT_DELAY
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise KitaruUsageError(
            f"Environment variable {_DELAY_ENV} must be a number of seconds ≥ 0, got {raw!r}."
        )
    return value
