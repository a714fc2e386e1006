"""``client.collections``: curated collections of models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..types import Collection
from ._base import Resource, check_options, path_param

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..pagination import SyncPage
    from ._base import RequestOptions


class Collections(Resource):
    """Collections: ``GET /collections`` and ``GET /collections/{slug}``."""

    __slots__ = ()

    def list(self, **options: Unpack[RequestOptions]) -> SyncPage[Collection]:
        """Every collection (without its models), across every page (iterate), or page by page."""
        check_options("list", options)
        return self._list("/collections", Collection, options=options)  # type: ignore[no-any-return]

    def get(self, collection_slug: str, **options: Unpack[RequestOptions]) -> Collection:
        """A collection with its models and full description."""
        check_options("get", options)
        path = f"/collections/{path_param('collection_slug', collection_slug)}"
        return self._get(path, Collection, options)  # type: ignore[no-any-return]


__all__ = ["Collections"]
