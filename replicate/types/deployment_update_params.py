"""v2's ``replicate.types.deployment_update_params``, as aliases of :mod:`replicate.types`."""

from . import DeploymentUpdateParams

__all__ = ["DeploymentUpdateParams"]
