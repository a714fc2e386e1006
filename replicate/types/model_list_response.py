"""v2's ``replicate.types.model_list_response``, as aliases of :mod:`replicate.types`."""

from . import ModelListResponse

__all__ = ["ModelListResponse"]
