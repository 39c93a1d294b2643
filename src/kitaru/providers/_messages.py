"""The messages of a call: a prompt string or ``{role, content}`` dicts, with an optional system message."""

from __future__ import annotations

from typing import Any

from kitaru.errors import KitaruUsageError

__all__ = ["build_messages"]

_ROLES = ("system", "user", "assistant")


def build_messages(prompt: Any, system: str | None) -> list[dict[str, Any]]:
    """Return the messages of a call; ``system`` is prepended as a system message.

    Example:
        >>> build_messages("Hi", "Be brief.")
        [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    if system is not None and not isinstance(system, str):
        raise KitaruUsageError(f"llm(): system must be a string, got {type(system).__name__}.")
    if isinstance(prompt, str):
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, list | tuple) and prompt:
        messages = []
        for i, item in enumerate(prompt):
            if (
                not isinstance(item, dict)
                or item.get("role") not in _ROLES
                or not isinstance(item.get("content"), str)
            ):
                raise KitaruUsageError(
                    f"llm(): message #{i} must be a dict with role ({', '.join(_ROLES)}) and string "
                    f"content, got {item!r}."
                )
            messages.append({"role": item["role"], "content": item["content"]})
    else:
        raise KitaruUsageError(
            "llm(): prompt must be a string or a non-empty list of {'role', 'content'} messages, "
            f"got {type(prompt).__name__}."
        )
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return messages
