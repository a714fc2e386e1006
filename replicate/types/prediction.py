"""v2's ``replicate.types.prediction``, as aliases of :mod:`replicate.types`."""

from . import Prediction
from . import PredictionMetrics as Metrics
from . import PredictionURLs as URLs

__all__ = ["Metrics", "Prediction", "URLs"]
