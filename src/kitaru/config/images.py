"""Image settings: the container image an execution would run in on a remote stack.

Local stacks run executions in this process, so the image changes nothing there;
it is validated where it is given and stored in each execution's frozen spec,
so a remote target (and anyone reading the spec) sees what was asked for.

An image is given as a base image name (``"python:3.12-slim"``), a mapping of
:class:`ImageSettings` fields, or an :class:`ImageSettings`. Layers merge field
by field: a higher layer's field replaces the lower one's, ``environment``
merges key by key, and a field left ``None`` keeps the lower layer's value.

Example:
    >>> from kitaru.config.images import coerce_image, merge_images
    >>> base = coerce_image("python:3.12", source="kitaru.configure()")
    >>> top = coerce_image({"requirements": ["httpx"]}, source="@flow(...)")
    >>> merge_images(base, top).model_dump(exclude_none=True)
    {'base_image': 'python:3.12', 'requirements': ['httpx']}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from kitaru.errors import KitaruUsageError

__all__ = ["ImageSettings", "coerce_image", "merge_images"]


class ImageSettings(BaseModel):
    """Image and runtime environment settings of an execution (unknown fields are refused).

    Example:
        >>> import kitaru
        >>> kitaru.ImageSettings(base_image="python:3.12", apt_packages=["git"]).base_image
        'python:3.12'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_image: str | None = None
    requirements: list[str] | None = None
    dockerfile: str | None = None
    build_context_root: str | None = None
    environment: dict[str, str] | None = None
    apt_packages: list[str] | None = None
    replicate_local_python_environment: bool | None = None
    image_tag: str | None = None
    target_repository: str | None = None
    user: str | None = None
    platform: str | None = None

    @field_validator(
        "base_image", "dockerfile", "build_context_root", "image_tag", "target_repository", "user", "platform"
    )
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("requirements", "apt_packages")
    @classmethod
    def _no_empty_items(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if any(not item.strip() for item in value):
            raise ValueError("must not contain empty strings")
        return [item.strip() for item in value]

    @field_validator("environment")
    @classmethod
    def _environment_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if any(not key.strip() for key in value):
            raise ValueError("keys must not be empty")
        return {key.strip(): item for key, item in value.items()}

    def to_dict(self) -> dict[str, Any]:
        """Return the fields that are set, as a JSON-serializable dict."""
        return self.model_dump(exclude_none=True)


def coerce_image(value: Any, *, source: str) -> ImageSettings | None:
    """Return ``value`` (a name, a mapping or :class:`ImageSettings`) as image settings.

    Raises:
        KitaruUsageError: naming ``source`` and what is wrong with the value.

    Example:
        >>> coerce_image("python:3.12", source="run()").base_image
        'python:3.12'
    """
    if value is None or isinstance(value, ImageSettings):
        return value
    if isinstance(value, str):
        if not value.strip():
            raise KitaruUsageError(f"{source}: image must be a non-empty image name, got {value!r}.")
        return ImageSettings(base_image=value.strip())
    if isinstance(value, Mapping):
        try:
            return ImageSettings.model_validate(dict(value))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'image'}: {err['msg']}" for err in exc.errors()
            )
            fields = ", ".join(ImageSettings.model_fields)
            raise KitaruUsageError(
                f"{source}: invalid image settings ({problems}). Known fields: {fields}."
            ) from None
    raise KitaruUsageError(
        f"{source}: image must be an image name, a mapping of image settings or kitaru.ImageSettings, "
        f"got {type(value).__name__}."
    )


def merge_images(lower: ImageSettings | None, higher: ImageSettings | None) -> ImageSettings | None:
    """Merge two layers' image settings: ``higher``'s set fields win, ``environment`` merges.

    Example:
        >>> low, high = ImageSettings(environment={"A": "1"}), ImageSettings(environment={"B": "2"})
        >>> merge_images(low, high).environment
        {'A': '1', 'B': '2'}
    """
    if lower is None or higher is None:
        return higher if lower is None else lower
    merged = {**lower.to_dict(), **higher.to_dict()}
    if lower.environment is not None and higher.environment is not None:
        merged["environment"] = {**lower.environment, **higher.environment}
    return ImageSettings.model_validate(merged)
