"""Retry policies of checkpoint calls.

Example:
    >>> from kitaru.runtime.retry import RetryPolicy
    >>> RetryPolicy(max_retries=3, delay=1.0, jitter=0).delay_for(2)
    2.0
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and when a failing checkpoint call is retried.

    Attributes:
        max_retries: Extra attempts after the first failure.
        delay: Seconds before the first retry.
        backoff: Factor applied to the delay after each retry.
        max_delay: Upper bound of one delay.
        jitter: Random spread as a fraction of the delay (0.1 = ±10 %).
        retry_on: Exception types that are retried; others fail at once.
    """

    max_retries: int
    delay: float = 1.0
    backoff: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.1
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def delay_for(self, retry_number: int) -> float:
        """Seconds to sleep before retry number ``retry_number`` (1-based)."""
        base = min(self.delay * self.backoff ** (retry_number - 1), self.max_delay)
        if self.jitter and base:
            base *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(base, 0.0)

    def should_retry(self, exc: BaseException, retries_done: int) -> bool:
        """Whether a call that failed with ``exc`` after ``retries_done`` retries runs again."""
        return retries_done < self.max_retries and isinstance(exc, self.retry_on)
