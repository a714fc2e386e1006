"""v2's ``replicate.types.models.version_get_response``, as aliases of :mod:`replicate.types`."""

from .. import VersionGetResponse

__all__ = ["VersionGetResponse"]
