"""v2's ``replicate.types.deployment_update_response``, as aliases of :mod:`replicate.types`."""

from . import Account as CurrentReleaseCreatedBy
from . import DeploymentConfiguration as CurrentReleaseConfiguration
from . import DeploymentRelease as CurrentRelease
from . import DeploymentUpdateResponse

__all__ = [
    "CurrentRelease",
    "CurrentReleaseConfiguration",
    "CurrentReleaseCreatedBy",
    "DeploymentUpdateResponse",
]
