"""v2's ``replicate.types.model_update_response``, as aliases of :mod:`replicate.types`."""

from . import ModelUpdateResponse

__all__ = ["ModelUpdateResponse"]
