"""v2's ``replicate.types.deployments.prediction_create_params``:
``deployments.predictions.create``."""

from .._params import DeploymentPredictionCreateParams as PredictionCreateParams

__all__ = ["PredictionCreateParams"]
