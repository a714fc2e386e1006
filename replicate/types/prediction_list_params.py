"""v2's ``replicate.types.prediction_list_params``, as aliases of :mod:`replicate.types`."""

from . import PredictionListParams

__all__ = ["PredictionListParams"]
