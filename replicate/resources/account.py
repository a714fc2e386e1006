"""``client.account``: the account the API token belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..types import Account
from ._base import Resource, check_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import RequestOptions


class AccountResource(Resource):
    """The authenticated account: ``GET /account``."""

    __slots__ = ()

    def get(self, **options: Unpack[RequestOptions]) -> Account:
        """The user or organization that owns the API token."""
        check_options("get", options)
        return self._get("/account", Account, options)  # type: ignore[no-any-return]


__all__ = ["AccountResource"]
