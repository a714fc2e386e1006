"""v2's ``replicate.types.file_create_params``, as aliases of :mod:`replicate.types`."""

from . import FileCreateParams

__all__ = ["FileCreateParams"]
