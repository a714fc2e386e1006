"""v2's ``replicate.types.model_create_response``, as aliases of :mod:`replicate.types`."""

from . import ModelCreateResponse

__all__ = ["ModelCreateResponse"]
