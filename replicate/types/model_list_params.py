"""v2's ``replicate.types.model_list_params``, as aliases of :mod:`replicate.types`."""

from . import ModelListParams

__all__ = ["ModelListParams"]
