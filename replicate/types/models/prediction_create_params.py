"""v2's ``replicate.types.models.prediction_create_params``: ``models.predictions.create``."""

from .._params import ModelPredictionCreateParams as PredictionCreateParams

__all__ = ["PredictionCreateParams"]
