"""v2's ``replicate.types.model_update_params``, as aliases of :mod:`replicate.types`."""

from . import ModelUpdateParams

__all__ = ["ModelUpdateParams"]
