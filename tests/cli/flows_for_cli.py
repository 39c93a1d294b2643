"""Flows the CLI tests run (copied into each workspace as flows.py)."""

import os
import signal
import time
from pathlib import Path

import kitaru
from kitaru import checkpoint, flow

HERE = Path(__file__).parent


@checkpoint
def shout(name: str) -> str:
    print(f"shouting at {name}")
    return name.upper()


@checkpoint(type="tool_call")
def exclaim(text: str) -> str:
    return text + "!"


@flow
def greet(name: str) -> str:
    return "Hello, " + exclaim(shout(name))


@flow
def approve(draft: str) -> str:
    ok = kitaru.wait(schema=bool, question=f"Publish {draft}?", timeout=0)
    return "published" if ok else "discarded"


@flow
def gate() -> str:
    kitaru.wait(question="Go on?", timeout=0)
    return "went on"


@checkpoint
def explode() -> None:
    raise ValueError("boom")


@flow
def broken() -> None:
    explode()


@checkpoint
def fragile(marker: str) -> str:
    path = HERE / marker
    if not path.exists():
        path.touch()
        raise RuntimeError("the first attempt fails")
    return "fixed"


@flow
def flaky(marker: str) -> str:
    return fragile(marker)


@checkpoint
def step(i: int) -> int:
    print(f"step {i}")
    return i


@flow
def crashy(marker: str) -> int:
    first = step(1)
    path = HERE / marker
    if not path.exists():
        path.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return first + step(2)


@flow
def ticking(n: int, delay: float = 0.05) -> int:
    total = 0
    for i in range(n):
        total += step(i)
        time.sleep(delay)
    return total


@checkpoint
def outline(topic: str) -> list[str]:
    return [f"{topic}: intro", f"{topic}: body"]


@checkpoint
def write(parts: list[str]) -> str:
    return " / ".join(parts)


@flow
def essay(topic: str) -> str:
    return write(outline(topic))


@flow
def chatty(n: int) -> int:
    print("planning")
    total = sum(step(i) for i in range(n))
    print("all steps done")
    return total


if __name__ == "__main__":
    print("MAIN BLOCK RAN")
