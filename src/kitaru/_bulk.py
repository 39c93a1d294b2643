"""Building many objects at once: the cyclic garbage collector paused meanwhile.

Reading a journal or an execution of tens of thousands of calls creates
hundreds of thousands of objects that all stay alive; the collector would
walk them again and again while they are built (about half the time of such a
read), and finds nothing to free. Records hold no reference cycles.

Example:
    >>> from kitaru._bulk import gc_paused
    >>> with gc_paused():
    ...     rows = [{"seq": i} for i in range(3)]
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (when it ran), then resume it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
