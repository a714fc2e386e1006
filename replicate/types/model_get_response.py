"""v2's ``replicate.types.model_get_response``, as aliases of :mod:`replicate.types`."""

from . import ModelGetResponse

__all__ = ["ModelGetResponse"]
