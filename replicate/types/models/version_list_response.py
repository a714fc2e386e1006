"""v2's ``replicate.types.models.version_list_response``, as aliases of :mod:`replicate.types`."""

from .. import VersionListResponse

__all__ = ["VersionListResponse"]
