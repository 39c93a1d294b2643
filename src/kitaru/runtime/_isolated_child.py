"""The isolated side of :class:`kitaru.runtime.isolated.ProcessBackend`: ``python -m`` this module.

It reads the call (function reference, arguments) from the file named first, runs the
function, and writes ``(True, value)`` or ``(False, exception)`` to the file named second.
An outcome that cannot be pickled is reported as a ``RuntimeError`` carrying its text.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback

from kitaru.runtime.isolated import run_payload

__all__ = ["main"]


def main(request: str, reply: str) -> int:
    """Run the call in ``request`` and write its outcome to ``reply``; the exit code."""
    with open(request, "rb") as f:
        ref, args, kwargs, is_async, trace_context = pickle.load(f)
    outcome: tuple[bool, object]
    try:
        value = run_payload(ref, args, kwargs, is_async, trace_context)
        outcome, text = (True, value), repr(value)
    except Exception as exc:
        outcome, text = (False, exc), "".join(traceback.format_exception(exc))
    try:
        data = pickle.dumps(outcome)
    except Exception as exc:  # an unpicklable value or exception: say what it was
        problem = RuntimeError(f"The isolated call's outcome cannot be sent back ({exc}): {text}")
        data = pickle.dumps((False, problem))
    tmp = reply + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
