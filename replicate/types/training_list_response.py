"""v2's ``replicate.types.training_list_response``, as aliases of :mod:`replicate.types`."""

from . import TrainingListResponse
from . import TrainingMetrics as Metrics
from . import TrainingOutput as Output
from . import TrainingURLs as URLs

__all__ = ["Metrics", "Output", "TrainingListResponse", "URLs"]
