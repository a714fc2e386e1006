"""v2's ``replicate.types.models``: types of the ``client.models.*`` sub-resources."""

from .prediction_create_params import PredictionCreateParams
from .readme_get_response import ReadmeGetResponse
from .version_get_response import VersionGetResponse
from .version_list_response import VersionListResponse

__all__ = [
    "PredictionCreateParams",
    "ReadmeGetResponse",
    "VersionGetResponse",
    "VersionListResponse",
]
