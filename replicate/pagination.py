"""Paginated lists: iterate every item across pages lazily, or walk page by page.

``next`` URLs are followed verbatim (they carry an opaque cursor), each at most once: a
``next`` that points back to a page already fetched while iterating (a server-side loop) raises
:class:`~replicate.APIResponseValidationError` once the page holding it has been handed out,
instead of following it for ever. Iterating holds only the
page being read: the iterator keeps no reference to the page object it came from, nor to a page
once its items are handed out, so walking 10,000 predictions keeps about one page (100 items)
in memory, plus the next page's body while it is decoded.

:meth:`Follow.page_flow` fetches a page and ``_items_flow`` emits every item from a page on,
given the client core; a :class:`SyncPage` or :class:`AsyncPage` holds the facade and drives
them (``for``, or ``async for``).
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._drivers import Emit, EmitAll, map_emits
from ._sentinels import NOT_GIVEN, NotGiven
from .exceptions import APIResponseValidationError
from .types import Page

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._drivers import Flow
    from ._facade import BaseClient
    from ._http import Body, Response, Timeout

__all__ = [
    "AsyncCursorURLPage",
    "AsyncCursorURLPageWithCreatedFilters",
    "AsyncPage",
    "AsyncPaginator",
    "Follow",
    "SyncCursorURLPage",
    "SyncCursorURLPageWithCreatedFilters",
    "SyncPage",
]

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
        _, page = yield from self._fetch_flow(core, url, item_type)
        return page

    def _fetch_flow(
        self, core: ClientCore, url: str, item_type: Any
    ) -> Flow[tuple[Response, Page[Any]]]:
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
        return response, page

    def checked_page_flow(
        self, core: ClientCore, url: str, item_type: Any, seen: set[str]
    ) -> Flow[tuple[Page[Any], APIResponseValidationError | None]]:
        """:meth:`page_flow`, recording ``url`` in ``seen``; with the page comes the error to
        raise once its items are handed out when its ``next`` is a URL already fetched (a loop
        the server made), else None."""
        seen.add(url)
        response, page = yield from self._fetch_flow(core, url, item_type)
        loop = page.next if page.next and page.next in seen else None
        if loop is None:
            return page, None
        from ._redact import redact_url

        return page, APIResponseValidationError(
            f"the list page at {redact_url(url)} has a next link back to a page already fetched "
            f"({redact_url(loop)}): the server's pagination loops, so the list stops here",
            response=response,
        )


class _Page(Generic[T]):
    """One page of a list, with v2's navigation methods (what both colours share)."""

    __slots__ = ("_client", "_follow", "_item_type", "_page")

    def __init__(
        self,
        client: BaseClient,
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

    def get_next_page(self) -> Any:
        if not self._page.next:
            raise RuntimeError("No next page expected; check has_next_page() first")
        client = self._client
        return client._run(
            self._follow.page_flow(client._core, self._page.next, self._item_type), self._wrap
        )

    def _wrap(self, page: Page[T]) -> Any:
        return type(self)(self._client, page, self._item_type, self._follow)

    def iter_pages(self) -> Any:
        """This page and every page after it, fetched as the iteration reaches them."""
        client = self._client
        return client._iter(map_emits(self._pages_flow(), self._wrap_pages))

    def _pages_flow(self) -> Flow[None]:
        page: Page[Any] = self._page
        follow, core, item_type = self._follow, self._client._core, self._item_type
        seen: set[str] = set()
        loop: APIResponseValidationError | None = None
        while True:
            yield Emit(page)
            if loop is not None:
                raise loop
            if not page.next:
                return
            page, loop = yield from follow.checked_page_flow(core, page.next, item_type, seen)

    def _wrap_pages(self, pages: Sequence[Page[T]]) -> Flow[list[Any]]:
        return [self._wrap(page) for page in pages]
        yield  # a flow that needs no action

    def _items(self) -> Any:
        return self._client._iter(
            _items_flow(
                self._client._core,
                self._page.results,
                self._page.next,
                self._item_type,
                self._follow,
            )
        )

    def __repr__(self) -> str:
        more = ", more pages" if self.has_next_page() else ""
        kind = getattr(self._item_type, "__name__", "items")
        return f"<{type(self).__name__} of {len(self._page.results)} {kind}{more}>"


class SyncPage(_Page[T]):
    """One page of a list, with v2's navigation methods; iterating it yields every item of
    this page and all the pages after it."""

    __slots__ = ()

    if TYPE_CHECKING:

        def get_next_page(self) -> SyncPage[T]: ...
        def iter_pages(self) -> Iterator[SyncPage[T]]: ...

    def __iter__(self) -> Iterator[T]:
        return self._items()  # type: ignore[no-any-return]


class AsyncPage(_Page[T]):
    """A page of a list on an async client: ``async for item in page`` yields every item of
    this page and the pages after it; ``await page.get_next_page()``; ``async for p in
    page.iter_pages()``."""

    __slots__ = ()

    if TYPE_CHECKING:

        async def get_next_page(self) -> AsyncPage[T]: ...
        def iter_pages(self) -> AsyncIterator[AsyncPage[T]]: ...

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()  # type: ignore[no-any-return]


class AsyncPaginator(Generic[T]):
    """What a list call returns on an async client, as in v2: ``await`` it for the first page
    (an :class:`AsyncPage`), or ``async for item in client.predictions.list()`` to iterate every
    item across pages (the first page is fetched when the iteration starts)."""

    __slots__ = ("_first",)

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first = first

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for item in page:
            yield item

    def __repr__(self) -> str:
        return "<AsyncPaginator: await it for the first page, or iterate with async for>"


# v2's page classes: ``predictions.list`` returns a ``SyncCursorURLPageWithCreatedFilters`` there
# and the other lists a ``SyncCursorURLPage`` (``Async...`` on the async client); every list
# here returns a SyncPage or an AsyncPage.
SyncCursorURLPage = SyncPage
SyncCursorURLPageWithCreatedFilters = SyncPage
AsyncCursorURLPage = AsyncPage
AsyncCursorURLPageWithCreatedFilters = AsyncPage


def _items_flow(
    core: ClientCore,
    results: list[Any],
    url: str | None,
    item_type: Any,
    follow: Follow,
) -> Flow[None]:
    # Deliberately not a method: the flow must not keep the first page alive.
    yield EmitAll(results)
    del results
    seen: set[str] = set()  # the URLs fetched: a ``next`` back to one of them is a loop
    while url:
        page, loop = yield from follow.checked_page_flow(core, url, item_type, seen)
        url = page.next
        results = page.results
        del page
        yield EmitAll(results)
        del results
        if loop is not None:
            raise loop
