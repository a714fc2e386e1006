"""v2's ``replicate.types.account_get_response``, as aliases of :mod:`replicate.types`."""

from . import AccountGetResponse

__all__ = ["AccountGetResponse"]
