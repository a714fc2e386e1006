"""v2's ``replicate.types.deployment_create_response``, as aliases of :mod:`replicate.types`."""

from . import Account as CurrentReleaseCreatedBy
from . import DeploymentConfiguration as CurrentReleaseConfiguration
from . import DeploymentCreateResponse
from . import DeploymentRelease as CurrentRelease

__all__ = [
    "CurrentRelease",
    "CurrentReleaseConfiguration",
    "CurrentReleaseCreatedBy",
    "DeploymentCreateResponse",
]
