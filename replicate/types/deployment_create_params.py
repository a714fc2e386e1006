"""v2's ``replicate.types.deployment_create_params``, as aliases of :mod:`replicate.types`."""

from . import DeploymentCreateParams

__all__ = ["DeploymentCreateParams"]
