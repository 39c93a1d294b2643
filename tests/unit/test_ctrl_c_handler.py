"""Ctrl-C handling is installed only while a flow runs from the main thread, then restored."""

from __future__ import annotations

import signal
import threading
from typing import Any

from kitaru import flow
from kitaru.runtime.interrupt import installed, release_when_idle


@flow
def quick(x: int) -> int:
    return x + 1


def test_the_handler_is_installed_only_while_a_flow_runs_from_the_main_thread() -> None:
    # An earlier test may have left the handling installed: it stays until the main thread
    # next waits on a handle (or Ctrl-C comes) with nothing running here.
    release_when_idle()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert not installed()
        handle = quick.run(1)
        during = installed()
        assert handle.wait(timeout=60) == 2
        assert during
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not installed()

        from_thread: list[Any] = []
        worker = threading.Thread(target=lambda: from_thread.append(quick.run(2).wait(timeout=60)))
        worker.start()
        worker.join(timeout=60)
        assert from_thread == [3]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not installed()

        def own(signum: int, frame: Any) -> None:  # a program's own handler is left alone
            return None

        signal.signal(signal.SIGINT, own)
        assert quick.run(3).wait(timeout=60) == 4
        assert signal.getsignal(signal.SIGINT) is own and not installed()
    finally:
        signal.signal(signal.SIGINT, previous)
