"""A small research agent: three checkpoints, one of them flaky, on the embedded store.

Run it with ``make demo`` (or ``python examples/demo.py``). It prints the
result and the exec id. The flow opts into the cross-execution cache (it is
off by default): run it twice and the second execution answers every call from
the first one's, with status ``cached``; the outline that ``write_report``
saved is restored with its output, so ``kitaru.load`` finds it again.
"""

from __future__ import annotations

import kitaru
from kitaru import checkpoint, flow


@checkpoint(type="tool_call")
def gather_sources(topic: str) -> list[str]:
    kitaru.log(source_count=3)
    return [f"{topic}: paper {i}" for i in range(1, 4)]


_calls_per_source: dict[str, int] = {}


@checkpoint(retries=3, retry_delay=0.05, type="llm_call")
def summarize(source: str) -> str:
    _calls_per_source[source] = _calls_per_source.get(source, 0) + 1
    if source.endswith("paper 2") and _calls_per_source[source] == 1:
        # A flaky model endpoint (here: its first answer for the second paper times out);
        # the checkpoint's retries absorb it, and each attempt is recorded.
        raise ConnectionError("model endpoint timed out")
    return f"summary of {source}"


@checkpoint
def write_report(topic: str, summaries: list[str]) -> dict[str, object]:
    kitaru.save("outline", [s.split(": ")[-1] for s in summaries], type="context")
    return {"topic": topic, "sections": len(summaries), "text": " / ".join(summaries)}


@flow(cache=True)
def research(topic: str) -> dict[str, object]:
    sources = gather_sources(topic)
    summaries = [f.result() for f in summarize.map(sources)]
    return write_report(topic, summaries)


if __name__ == "__main__":
    handle = research.run("durable agents")
    report = handle.wait(timeout=60)
    execution = kitaru.KitaruClient().executions.get(handle.exec_id)
    print(f"result:  {report}")
    print(f"exec id: {handle.exec_id}")
    print(f"status:  {execution.status.value}")
    for call in execution.checkpoints:
        print(f"  #{call.seq} {call.invocation_id:<12} {call.status.value:<9} attempts={len(call.attempts)}")
    print(f"outline: {kitaru.load(handle.exec_id, 'outline')}")
