"""v2's ``replicate.types.prediction_create_params``, as aliases of :mod:`replicate.types`."""

from . import (
    PredictionCreateParams,
    PredictionCreateParamsWithoutVersion,
)

__all__ = ["PredictionCreateParams", "PredictionCreateParamsWithoutVersion"]
