"""v2's ``replicate.types.training_cancel_response``, as aliases of :mod:`replicate.types`."""

from . import TrainingCancelResponse
from . import TrainingMetrics as Metrics
from . import TrainingOutput as Output
from . import TrainingURLs as URLs

__all__ = ["Metrics", "Output", "TrainingCancelResponse", "URLs"]
