"""v2's ``replicate.types.model_create_params``, as aliases of :mod:`replicate.types`."""

from . import ModelCreateParams

__all__ = ["ModelCreateParams"]
