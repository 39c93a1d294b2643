"""Generate :mod:`kitaru.store.sql._sqlite_plans` from the SQLAlchemy Core statements.

The store's statements are defined once, in :mod:`kitaru.store.sql._statements`.
This module compiles every one of them (and every variant of the statements
whose filters vary) for SQLite and writes the SQL text, the bind order and
the names of the value conversions (:mod:`kitaru.store._codecs`) into a
plain Python module, so a SQLite store at the current schema runs them with
the ``sqlite3`` driver without importing SQLAlchemy. A test compares the
checked-in module with a fresh generation, so it cannot go stale.

Regenerate after changing the schema or a statement::

    python -m kitaru.store.sql._sqlite_compile
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from kitaru._types import ExecutionStatus
from kitaru.store._codecs import BIND, RESULT
from kitaru.store.sql._listing import PAGE_DIRECTIONS
from kitaru.store.sql._prepared import Prepared

__all__ = ["PLANS_PATH", "VARIANT_ARGUMENTS", "generate", "render", "variant_keys"]

#: Where the generated module lives.
PLANS_PATH = Path(__file__).resolve().parent / "_sqlite_plans.py"

#: A compiled statement: SQL text, bind names, bind defaults, bind and result conversions.
Plan = tuple[str, tuple[str, ...], dict[str, Any], tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]

# SQLAlchemy's own conversions of its built-in types on SQLite, by qualified name.
# An empty name: no conversion needed (the driver takes ``bytes`` as they are).
_SQLALCHEMY_BIND = {
    "Boolean.bind_processor.<locals>.process": "bool",
    "_Binary.bind_processor.<locals>.process": "",
}
_SQLALCHEMY_RESULT = {"int_to_boolean": "bool"}


#: The keyword arguments of each method that returns a variant (``None``: one positional).
VARIANT_ARGUMENTS: dict[str, tuple[str, ...] | None] = {
    "list_executions": ("flow", "status", "since", "limit", "counts", "page"),
    "list_artifacts": ("name", "kind", "call_id", "producing_call"),
    "claim_execution": None,
    "enqueue_execution": None,
    "claim_queued": ("orphans", "flows", "queue"),
    "set_execution_status": ("expected", "runner", "release"),
    "list_logs": ("call_id", "after_seq", "limit"),
    "list_calls": ("limit", "offset"),
    "call_page_artifacts": ("limit", "offset"),
}


def variant_keys() -> list[tuple[str, tuple[Any, ...]]]:
    """Return every ``(method, arguments)`` of the statements whose filters vary."""
    flags = (False, True)
    most = len(ExecutionStatus)
    keys: list[tuple[str, tuple[Any, ...]]] = []
    # Pages bounded by a cursor are read with the counts only (the summaries).
    keys += [
        ("list_executions", (*combo, page))
        for combo in itertools.product(flags, repeat=5)
        for page in (PAGE_DIRECTIONS if combo[-1] else (None,))
    ]
    keys += [("list_artifacts", combo) for combo in itertools.product(flags, repeat=4)]
    keys += [("claim_execution", (count,)) for count in range(1, most + 1)]
    keys += [("enqueue_execution", (count,)) for count in range(1, most + 1)]
    keys += [("claim_queued", combo) for combo in itertools.product(flags, repeat=3)]
    keys += [
        ("set_execution_status", (expected, runner, release))
        for expected in (None, *range(1, most + 1))
        for runner in flags
        for release in flags
    ]
    keys += [("list_logs", combo) for combo in itertools.product(flags, repeat=3)]
    keys += [("list_calls", combo) for combo in itertools.product(flags, repeat=2)]
    keys += [("call_page_artifacts", combo) for combo in itertools.product(flags, repeat=2)]
    return keys


def generate() -> tuple[dict[str, Plan], dict[tuple[Any, ...], Plan]]:
    """Compile every statement for SQLite; return the fixed ones by name and the variants by key."""
    import sqlalchemy as sa

    from kitaru.store.sql._statements import Statements

    engine = sa.create_engine("sqlite://")
    with engine.connect():
        pass  # the dialect learns the library's features on the first connect
    statements = Statements(engine.dialect)
    engine.dispose()
    plans = {
        name: _plan(value) for name, value in sorted(vars(statements).items()) if isinstance(value, Prepared)
    }
    variants: dict[tuple[Any, ...], Plan] = {}
    for method, args in variant_keys():
        function = getattr(statements, method)
        names = VARIANT_ARGUMENTS[method]
        variants[(method, *args)] = _plan(
            function(*args[:1]) if names is None else function(**dict(zip(names, args, strict=True)))
        )
    return plans, variants


def _plan(prepared: Prepared) -> Plan:
    sql = prepared.sql  # compiles it
    if prepared._named:
        raise ValueError(f"SQLite statements are positional, got a named one: {sql}")
    return (
        sql,
        tuple(prepared._names),
        dict(prepared._defaults),
        _codecs(prepared._processors, BIND, _SQLALCHEMY_BIND),
        _codecs(prepared._results, RESULT, _SQLALCHEMY_RESULT),
    )


def _codecs(
    processors: tuple[tuple[int, Any], ...], ours: dict[str, Any], theirs: dict[str, str]
) -> tuple[tuple[int, str], ...]:
    named = ((index, _codec(function, ours, theirs)) for index, function in processors)
    return tuple((index, name) for index, name in named if name)


def _codec(function: Any, ours: dict[str, Any], theirs: dict[str, str]) -> str:
    for name, candidate in ours.items():
        if candidate is function:
            return name
    theirs_name = theirs.get(getattr(function, "__qualname__", ""))
    if theirs_name is None:
        raise ValueError(
            f"No conversion in kitaru.store._codecs stands for {function!r}; add one there "
            "(and to this module's table of SQLAlchemy conversions) for the new column type."
        )
    return theirs_name


def render() -> str:
    """Return the text of the generated module: one statement a line."""
    plans, variants = generate()
    fixed = "".join(f"    {name!r}: {plan!r},\n" for name, plan in sorted(plans.items()))
    varying = "".join(f"    {key!r}: {plan!r},\n" for key, plan in variants.items())
    return (
        '"""The SQLite statements of the store, compiled ahead of time. GENERATED: do not edit.\n\n'
        "Regenerate with ``python -m kitaru.store.sql._sqlite_compile`` after changing\n"
        "the schema or a statement; a test fails while this module is stale.\n"
        '"""\n\n'
        "from typing import Any\n\n"
        '__all__ = ["PLANS", "VARIANTS"]\n\n'
        "#: Fixed statements by attribute name: SQL, bind names, bind defaults,\n"
        "#: bind and result conversions.\n"
        f"PLANS: dict[str, Any] = {{\n{fixed}}}\n\n"
        "#: Statements whose filters vary, by ``(method, *arguments)``.\n"
        f"VARIANTS: dict[tuple[Any, ...], Any] = {{\n{varying}}}\n"
    )


if __name__ == "__main__":
    PLANS_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PLANS_PATH}")
