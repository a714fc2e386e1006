"""v2's ``replicate.types.deployments``: types of ``client.deployments.predictions``."""

from .prediction_create_params import PredictionCreateParams

__all__ = ["PredictionCreateParams"]
