"""v2's ``replicate.types.training_create_params``, as aliases of :mod:`replicate.types`."""

from . import TrainingCreateParams

__all__ = ["TrainingCreateParams"]
