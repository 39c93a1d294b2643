"""Ctrl-C handling is installed only while a flow runs from the main thread, then restored.

The handler is process-wide state, and an execution another test left running in the test
process keeps it installed; so the scenario runs in a fresh interpreter of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.both_modes

SCENARIO = textwrap.dedent(
    """
    import signal
    import threading
    from typing import Any

    from kitaru import flow
    from kitaru.runtime.interrupt import installed


    @flow
    def quick(x: int) -> int:
        return x + 1


    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not installed()
    handle = quick.run(1)
    during = installed()
    assert handle.wait(timeout=60) == 2
    assert during, "not installed while the flow ran"
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
    print("ok")
    """
)


def test_the_handler_is_installed_only_while_a_flow_runs_from_the_main_thread(tmp_path: Path) -> None:
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    env = {**os.environ, "KITARU_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
