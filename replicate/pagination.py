"""Paginated lists: iterate every item across pages lazily, or walk page by page.

``next`` URLs are followed verbatim (they carry an opaque cursor). Iterating holds only the
page being read: the iterator keeps no reference to the page object it came from, nor to a page
once its items are handed out, so walking 10,000 predictions keeps about one page (100 items)
in memory, plus the next page's body while it is decoded.

:meth:`Follow.page_flow` is the flow, given the client core; a :class:`SyncPage` holds the facade
and drives it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._sentinels import NOT_GIVEN, NotGiven
from .types import Page

if TYPE_CHECKING:
    from ._client import Replicate
    from ._core import ClientCore
    from ._drivers import Flow
    from ._http import Body, Timeout

__all__ = ["Follow", "SyncCursorURLPage", "SyncCursorURLPageWithCreatedFilters", "SyncPage"]

T = TypeVar("T")


class Follow:
    """How to ask for the next pages of a list: the first call's method, body, headers and
    per-call ``timeout``/``max_retries`` (not its query: ``next`` URLs carry their own).

    A QUERY search sends its method, body and Content-Type again to each ``next`` URL, as v2
    does; a plain list sends GET.
    """

    __slots__ = ("content", "headers", "max_retries", "method", "timeout")

    def __init__(
        self,
        method: str = "GET",
        *,
        content: Body | str = None,
        headers: Mapping[str, str | None] | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> None:
        self.method = method
        self.content = content
        self.headers = headers
        self.timeout = timeout
        self.max_retries = max_retries

    def page_flow(self, core: ClientCore, url: str, item_type: Any) -> Flow[Page[Any]]:
        """Fetch and decode the page at ``url`` (sans-I/O: sync and async pages share it)."""
        request = core.build(
            self.method,
            url,
            content=self.content,
            headers=self.headers,
            idempotent=True,
            add_default_query=False,
        )
        response = yield from core.send_flow(
            request, timeout=self.timeout, max_retries=self.max_retries
        )
        page: Page[Any] = response.parse(Page[item_type])
        return page


class SyncPage(Generic[T]):
    """One page of a list, with v2's navigation methods; iterating it yields every item of
    this page and all the pages after it."""

    __slots__ = ("_client", "_follow", "_item_type", "_page")

    def __init__(
        self,
        client: Replicate,
        page: Page[T],
        item_type: Any,
        follow: Follow | None = None,
    ) -> None:
        self._client = client
        self._page = page
        self._item_type = item_type
        self._follow = follow or Follow()

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
        return self._fetch(self._page.next)

    def _fetch(self, url: str) -> SyncPage[T]:
        client = self._client
        page = client._run(self._follow.page_flow(client._core, url, self._item_type))
        return SyncPage(client, page, self._item_type, self._follow)

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


# v2's page classes: ``predictions.list`` returns a ``SyncCursorURLPageWithCreatedFilters`` there
# and the other lists a ``SyncCursorURLPage``; every list here returns a SyncPage.
SyncCursorURLPage = SyncPage
SyncCursorURLPageWithCreatedFilters = SyncPage


def _items(
    client: Replicate,
    results: list[Any],
    url: str | None,
    item_type: Any,
    follow: Follow,
) -> Iterator[Any]:
    # Deliberately not a method: the generator must not keep the first SyncPage alive.
    yield from results
    del results
    while url:
        page = client._run(follow.page_flow(client._core, url, item_type))
        url = page.next
        results = page.results
        del page
        yield from results
        del results
