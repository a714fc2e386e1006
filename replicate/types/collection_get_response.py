"""v2's ``replicate.types.collection_get_response``, as aliases of :mod:`replicate.types`."""

from . import (
    CollectionGetResponse,
    Model,
)

__all__ = ["CollectionGetResponse", "Model"]
