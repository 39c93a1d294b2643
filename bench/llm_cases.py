"""Benchmark case of ``kitaru.llm()``: what a tracked call in a flow body adds to the provider call.

Both sides call the same local fake OpenAI-compatible server (the one the tests use) with the
official SDK: the raw side with a client of its own, the tracked side through ``kitaru.llm()``
(model resolution, credentials, pricing, the durable call, prompt and response artifacts and
the usage row). The difference per call is what Kitaru adds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests._fake_llm import openai_server

import kitaru
from kitaru import flow
from kitaru.config.model_aliases import register_model
from kitaru.testing import isolated_home

_CALLS = 200


@flow(cache=False)
def asks(n: int) -> int:
    return sum(len(kitaru.llm(f"question {i}", model="fast")) for i in range(n))


@flow(cache=False)
def nothing(n: int) -> int:
    return n


def llm_overhead_ms(tmp: Path, n: int = _CALLS) -> float:
    """Per call: a flow body making ``n`` ``kitaru.llm()`` calls, minus an empty flow, minus
    ``n`` raw SDK calls to the same server (ms)."""
    import openai

    saved = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = "sk-bench"
    try:
        with openai_server() as fake, isolated_home(tmp / "home"):
            register_model("fast", model="openai/gpt-4o-mini", base_url=fake.url + "/v1")
            raw = openai.OpenAI(api_key="sk-bench", base_url=fake.url + "/v1", max_retries=0)
            asks.run(2).wait()  # warm up: SDK, price table, store
            nothing.run(0).wait()
            raw.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
            t = time.perf_counter()
            for i in range(n):
                raw.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"question {i}"}]
                )
            raw_total = time.perf_counter() - t
            t = time.perf_counter()
            nothing.run(n).wait()
            base = time.perf_counter() - t
            t = time.perf_counter()
            asks.run(n).wait()
            tracked = time.perf_counter() - t
    finally:
        if saved is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = saved
    return (tracked - base - raw_total) / n * 1000


def llm_raw_call_ms(tmp: Path, n: int = _CALLS) -> float:
    """The raw SDK call to the local fake server alone (ms), for scale."""
    import openai

    with openai_server() as fake:
        raw = openai.OpenAI(api_key="sk-bench", base_url=fake.url + "/v1", max_retries=0)
        raw.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        t = time.perf_counter()
        for i in range(n):
            raw.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"q {i}"}])
        return (time.perf_counter() - t) / n * 1000
