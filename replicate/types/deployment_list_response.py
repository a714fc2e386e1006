"""v2's ``replicate.types.deployment_list_response``, as aliases of :mod:`replicate.types`."""

from . import Account as CurrentReleaseCreatedBy
from . import DeploymentConfiguration as CurrentReleaseConfiguration
from . import DeploymentListResponse
from . import DeploymentRelease as CurrentRelease

__all__ = [
    "CurrentRelease",
    "CurrentReleaseConfiguration",
    "CurrentReleaseCreatedBy",
    "DeploymentListResponse",
]
