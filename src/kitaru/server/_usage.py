"""The route of model usage summed over a time range (the dashboard's cost page reads it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from kitaru._wire import to_wire
from kitaru.server._schemas import LlmUsageSummaryWire
from kitaru.store.base import MetadataStore

__all__ = ["usage_router"]


def usage_router(store: MetadataStore) -> APIRouter:
    """Return the route of model usage summaries over ``store``."""
    router = APIRouter(tags=["executions"])

    @router.get(
        "/llm-usage/summary",
        response_model=LlmUsageSummaryWire,
        summary="Model usage of a time range: in total, per flow, model, execution and time bucket",
    )
    def summarize_llm_usage(
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        bucket_seconds: int = 86400,
        executions: int = 50,
    ) -> Any:
        # since: included; until: excluded (ISO 8601); executions: the costliest ones listed
        return to_wire(
            store.summarize_llm_usage(
                since=since, until=until, bucket_seconds=bucket_seconds, executions=executions
            )
        )

    return router
