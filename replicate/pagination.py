"""Paginated lists: iterate every item across pages lazily, or walk page by page.

``next`` URLs are followed verbatim (they carry an opaque cursor). Iterating holds only the
page being read: the iterator keeps no reference to the page object it came from, nor to a page
once its items are handed out, so walking 10,000 predictions keeps about one page (100 items)
in memory, plus the next page's body while it is decoded.
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
        return _items(
            self._client, self._page.results, self._page.next, self._item_type, self._follow
        )

    def __repr__(self) -> str:
        more = ", more pages" if self.has_next_page() else ""
        kind = getattr(self._item_type, "__name__", "items")
        return f"<SyncPage of {len(self._page.results)} {kind}{more}>"


def _items(
    client: Replicate,
    results: list[Any],
    url: str | None,
    item_type: Any,
    follow: Mapping[str, Any] | None,
) -> Iterator[Any]:
    # Deliberately not a method: the generator must not keep the first SyncPage alive.
    yield from results
    del results
    while url:
        page = client._fetch_page(url, item_type, **(follow or {}))._page
        url = page.next
        results = page.results
        del page
        yield from results
        del results
