"""What a store may lack, and how a conformance case says it needs it.

The :class:`~kitaru.store.base.MetadataStore` protocol is required whole;
capability flags name the few guarantees a store may honestly not give. A
suite subclass lists the flags its store has (all of them by default); the
cases that need a missing one are skipped, with the reason in the report.
Every store shipped with Kitaru has every flag but the REST store, which lacks ``API_KEYS`` and
``IDEMPOTENCY_KEYS``.

Example:
    >>> from kitaru.store.conformance.capabilities import Capability, needs, requires
    >>> @requires(Capability.THREADS)
    ... def test_races(store): ...
    >>> needs(test_races) == {Capability.THREADS}
    True
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Capability", "needs", "requires"]

_F = TypeVar("_F", bound=Callable[..., object])
_ATTRIBUTE = "__kitaru_capabilities__"


class Capability(enum.StrEnum):
    """A guarantee that some conformance cases need.

    Attributes:
        THREADS: Threads of one process share the store at once, and of
            concurrent compare-and-set writes (claims, wait answers) exactly
            one wins. A store confined to one thread lacks it.
        API_KEYS: The store keeps a server's API keys (``create_api_key`` and the
            rest). A REST store lacks it: a server's keys are managed where its
            store is (``kitaru server api-key``), never over its API.
        IDEMPOTENCY_KEYS: The store keeps a server's idempotency keys
            (``write_idempotently``, ``prune_idempotency_keys``). A REST store lacks it: the
            server keeps them in its own store.
    """

    THREADS = "threads"
    API_KEYS = "api_keys"
    IDEMPOTENCY_KEYS = "idempotency_keys"


def requires(*capabilities: Capability) -> Callable[[_F], _F]:
    """Mark a conformance case as needing ``capabilities``; return the case unchanged."""

    def mark(case: _F) -> _F:
        setattr(case, _ATTRIBUTE, needs(case) | frozenset(capabilities))
        return case

    return mark


def needs(case: Callable[..., object]) -> frozenset[Capability]:
    """Return the capabilities a conformance case needs (none unless marked)."""
    found: frozenset[Capability] = getattr(case, _ATTRIBUTE, frozenset())
    return found
