"""The conformance suite every metadata store passes, shipped as code.

A store proves that it keeps Kitaru's contract by passing this suite: the
SQLite and PostgreSQL stores do, and so does the in-memory reference store
(:class:`kitaru.store.memory.InMemoryStore`). To run it on a store, subclass
:class:`MetadataStoreSuite` in a test module, name the subclass ``Test...``
and say how to open a fresh, empty store; pytest runs every case of
:data:`ALL_TESTS` as a method of that class::

    from kitaru.store.conformance import MetadataStoreSuite
    from kitaru.store.memory import InMemoryStore

    class TestInMemoryStore(MetadataStoreSuite):
        def make_store(self) -> InMemoryStore:
            return InMemoryStore()

A store that needs pytest fixtures (a temporary directory, a database
server) overrides the ``store`` fixture instead of :meth:`~MetadataStoreSuite.make_store`::

    class TestMyStore(MetadataStoreSuite):
        @pytest.fixture
        def store(self, tmp_path):
            store = MyStore(tmp_path / "my.db")
            yield store
            store.close()

A store that lacks a :class:`Capability` lists the ones it has in
``capabilities``; the cases that need the others are skipped. The cases are
also plain functions of one argument, the store (:data:`ALL_TESTS`), for
other runners. Importing this package imports pytest; ``import kitaru`` never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

pytest.register_assert_rewrite(
    "kitaru.store.conformance.store_suite",
    "kitaru.store.conformance.lifecycle_suite",
    "kitaru.store.conformance.integrity_suite",
    "kitaru.store.conformance.records",
    "kitaru.store.conformance.cache_suite",
    "kitaru.store.conformance.wait_suite",
    "kitaru.store.conformance.paging_suite",
    "kitaru.store.conformance.listing_suite",
    "kitaru.store.conformance.fencing_suite",
    "kitaru.store.conformance.retention_suite",
    "kitaru.store.conformance.memory_suite",
    "kitaru.store.conformance.usage_suite",
    "kitaru.store.conformance.provenance_suite",
    "kitaru.store.conformance.keys_suite",
    "kitaru.store.conformance.queue_suite",
)

from kitaru.store.base import MetadataStore  # noqa: E402
from kitaru.store.conformance.capabilities import Capability, needs  # noqa: E402
from kitaru.store.conformance.store_suite import ALL_TESTS  # noqa: E402

__all__ = ["ALL_TESTS", "Capability", "MetadataStoreSuite"]


class MetadataStoreSuite:
    """The conformance suite as a pytest class: subclass it as ``Test...`` and open a store.

    Each case of :data:`ALL_TESTS` is a method named like the case; it gets a
    fresh, empty store from the ``store`` fixture, which by default calls
    :meth:`make_store` and closes the store afterwards.

    Attributes:
        capabilities: What the store can do; cases needing anything else are skipped.

    Example:
        >>> from kitaru.store.memory import InMemoryStore
        >>> class TestInMemoryStore(MetadataStoreSuite):
        ...     def make_store(self) -> InMemoryStore:
        ...         return InMemoryStore()
        >>> callable(TestInMemoryStore.test_resolve_exec_id)
        True
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for case in ALL_TESTS:
            missing = needs(case) - cls.capabilities
            if missing:
                names = ", ".join(sorted(missing))
                reason = (
                    f"{cls.__name__} declares no capability {names} (see MetadataStoreSuite.capabilities)"
                )
                setattr(cls, case.__name__, pytest.mark.skip(reason=reason)(_method(case, cls.__qualname__)))

    def make_store(self) -> MetadataStore:
        """Return a new, empty store for one case (the default ``store`` fixture closes it).

        Raises:
            NotImplementedError: The subclass neither overrides this nor the ``store`` fixture.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override make_store() or the `store` fixture to run the "
            "metadata store conformance suite."
        )

    @pytest.fixture
    def store(self) -> Iterator[MetadataStore]:
        """A fresh, empty store from :meth:`make_store`, closed after the case."""
        opened = self.make_store()
        try:
            yield opened
        finally:
            opened.close()


def _method(case: Callable[[MetadataStore], None], owner: str) -> Callable[[Any, MetadataStore], None]:
    """The test method that runs ``case`` on the fixture's store."""

    def run(self: Any, store: MetadataStore) -> None:
        case(store)

    run.__name__ = case.__name__
    run.__qualname__ = f"{owner}.{case.__name__}"
    run.__doc__ = case.__doc__
    return run


for _case in ALL_TESTS:
    setattr(MetadataStoreSuite, _case.__name__, _method(_case, "MetadataStoreSuite"))
del _case
