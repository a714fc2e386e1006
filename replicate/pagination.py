"""Paginated lists: iterate every item across pages lazily, or walk page by page.

``next`` URLs are followed verbatim (they carry an opaque cursor). Iterating holds the page
being read, not the pages before it, so walking 10,000 predictions keeps about one page
(100 items) in memory besides the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .types import Page

if TYPE_CHECKING:
    from ._client import Replicate

T = TypeVar("T")


class SyncPage(Generic[T]):
    """One page of a list, with v2's navigation methods; iterating it yields every item of
    this page and all the pages after it."""

    __slots__ = ("_client", "_follow", "_item_type", "_page")

    def __init__(
        self,
        client: Replicate,
        page: Page[T],
        item_type: Any,
        follow: Mapping[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._page = page
        self._item_type = item_type
        # How to request the next page when it is not a plain GET: a QUERY search sends its
        # method, body and Content-Type again to the ``next`` URL, as v2 does.
        self._follow = follow

    @property
    def results(self) -> list[T]:
        return self._page.results

    @property
    def next(self) -> str | None:
        return self._page.next

    @property
    def previous(self) -> str | None:
        return self._page.previous

    def has_next_page(self) -> bool:
        return bool(self._page.next)

    def get_next_page(self) -> SyncPage[T]:
        if not self._page.next:
            raise RuntimeError("No next page expected; check has_next_page() first")
        return self._client._fetch_page(self._page.next, self._item_type, **(self._follow or {}))

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        page: SyncPage[T] = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page._page.results

    def __repr__(self) -> str:
        more = ", more pages" if self.has_next_page() else ""
        kind = getattr(self._item_type, "__name__", "items")
        return f"<SyncPage of {len(self._page.results)} {kind}{more}>"
