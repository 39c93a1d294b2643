"""Alembic environment of the metadata store.

Migrations run only when a ``SqlStore`` opens: it passes its open connection
(already holding the migration lock) in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from kitaru.store.schema import metadata

__all__: list[str] = []


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise RuntimeError(
            "Kitaru store migrations run when a store opens, with its connection; "
            "open the store (e.g. SqlStore(url)) instead of running alembic directly."
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
