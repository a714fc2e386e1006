"""v2's ``replicate.types.client_search_params``, as aliases of :mod:`replicate.types`."""

from . import ClientSearchParams

__all__ = ["ClientSearchParams"]
