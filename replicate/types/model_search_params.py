"""v2's ``replicate.types.model_search_params``, as aliases of :mod:`replicate.types`."""

from . import ModelSearchParams

__all__ = ["ModelSearchParams"]
