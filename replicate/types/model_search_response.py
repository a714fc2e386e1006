"""v2's ``replicate.types.model_search_response``, as aliases of :mod:`replicate.types`."""

from . import ModelSearchResponse

__all__ = ["ModelSearchResponse"]
