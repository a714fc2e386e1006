"""v2's ``replicate.types.collection_list_response``, as aliases of :mod:`replicate.types`."""

from . import CollectionListResponse

__all__ = ["CollectionListResponse"]
