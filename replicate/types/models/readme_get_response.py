"""v2's ``replicate.types.models.readme_get_response``: ``models.readme.get`` returns a ``str``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = ["ReadmeGetResponse"]

ReadmeGetResponse: TypeAlias = str
"""The model's README, as Markdown."""
