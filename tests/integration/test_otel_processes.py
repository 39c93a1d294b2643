"""OpenTelemetry in fresh interpreters: the global tracer provider is used, and a process without
a provider never imports OpenTelemetry (the global provider can be set only once per process,
so these run as scripts of their own)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests._scripts import env_for


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "traced.py"
    path.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(path)],
        env=env_for(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_a_process_without_a_provider_never_imports_opentelemetry(tmp_path: Path) -> None:
    ran = _script(
        tmp_path,
        """
        import sys
        import kitaru

        @kitaru.checkpoint
        def step(x: int) -> int:
            return x + 1

        @kitaru.flow
        def plain(x: int) -> int:
            return step.submit(step(x)).result()

        assert plain.run(1).wait() == 3
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        print("loaded:", loaded)
        assert not loaded, loaded

        # Another library imported OpenTelemetry, but no provider was configured: still no tracer.
        import opentelemetry.trace
        from kitaru.runtime.tracing import tracer

        assert plain.run(2).wait() == 4
        assert tracer() is None
        """,
    )
    assert ran.returncode == 0, ran.stderr
    assert "loaded: []" in ran.stdout


def test_the_global_tracer_provider_is_used(tmp_path: Path) -> None:
    ran = _script(
        tmp_path,
        """
        import json
        import kitaru
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)

        @kitaru.checkpoint
        def step(x: int) -> int:
            with trace.get_tracer("user").start_as_current_span("mine"):
                return x + 1

        @kitaru.flow
        def plain(x: int) -> int:
            return step(x)

        assert plain.run(1).wait() == 2
        spans = {s.name: s for s in exporter.get_finished_spans()}
        parents = {n: s.parent.span_id if s.parent else None for n, s in spans.items()}
        ids = {n: s.context.span_id for n, s in spans.items()}
        print(json.dumps({"parents": parents, "ids": ids}))
        """,
    )
    assert ran.returncode == 0, ran.stderr
    tree = json.loads(ran.stdout.strip().splitlines()[-1])
    parents, ids = tree["parents"], tree["ids"]
    assert set(ids) == {"flow plain", "checkpoint step", "mine"}
    assert parents["flow plain"] is None
    assert parents["checkpoint step"] == ids["flow plain"]
    assert parents["mine"] == ids["checkpoint step"]
