"""Reading an execution's calls from the in-memory store: whole or a page at a time."""

from __future__ import annotations

import dataclasses

from kitaru.errors import KitaruUsageError
from kitaru.records import ArtifactRecord, CallRecord
from kitaru.store.memory._rows import artifact_out, call_out
from kitaru.store.memory._tables import MemoryTables

__all__ = ["CallReadMethods"]


class CallReadMethods(MemoryTables):
    """The call listings of :class:`~kitaru.store.memory.InMemoryStore`."""

    def list_calls(
        self,
        exec_id: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        artifacts: bool = False,
    ) -> list[CallRecord]:
        """Return the execution's calls ordered by ``seq`` (then ``call_id``): all, or
        the page of at most ``limit`` after ``offset``, with ``attempts``; ``output``
        (no data) only when another execution holds it (cached, replayed calls);
        with ``artifacts=True`` also ``artifacts``. ``KitaruUsageError`` for a
        negative offset or limit."""
        if offset < 0 or (limit is not None and limit < 0):
            raise KitaruUsageError(
                "A page of calls needs an offset and a limit of 0 or more, "
                f"got offset={offset}, limit={limit}."
            )
        with self._lock:
            rows = self._sorted_calls(exec_id)[offset : None if limit is None else offset + limit]
            produced: dict[str, list[ArtifactRecord]] = {}
            if artifacts and rows:
                wanted = {row.call_id for row in rows}
                for artifact_id in self._artifacts_of[exec_id]:
                    artifact = self._artifacts[artifact_id]
                    if artifact.call_id in wanted:
                        produced.setdefault(artifact.call_id, []).append(artifact)
            page = []
            for row in rows:
                held = self._artifacts.get(row.output_artifact_id or "")
                output = None
                if held is not None and held.exec_id != row.exec_id:
                    output = artifact_out(held, with_data=False)
                made = sorted(produced.get(row.call_id, ()), key=lambda a: (a.created_at, a.artifact_id))
                record = call_out(row, output, self._attempts_of_call(row.call_id))
                page.append(
                    dataclasses.replace(
                        record, artifacts=tuple(artifact_out(a, with_data=False) for a in made)
                    )
                )
            return page

    def count_calls(self, exec_id: str) -> int:
        """Return the number of calls the execution has recorded (``KitaruStateError``
        when it does not exist)."""
        with self._lock:
            self._execution(exec_id)
            return len(self._calls_of[exec_id])
