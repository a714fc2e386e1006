"""What every resource method shares: per-call options, path parameters, one call helper.

A resource method only says which request to build and which type the response decodes to.
Building, sending (with retries) and decoding are the same flow for every method and every
client. A resource is a facade-level object: it holds the client (the facade), makes its flows
from the client's core (``client._core``) and hands them to the client's ``_execute`` (or
``_run``/``_iter``) to drive: ``Replicate`` returns the value, ``AsyncReplicate`` an awaitable
of it, from the same resource code.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

import msgspec

from .._cast import Deferred, decode_as
from .._http import Response as _Response
from .._sentinels import NOT_GIVEN, NotGiven, Omit

if TYPE_CHECKING:
    from .._drivers import Action
    from .._facade import BaseClient
    from .._http import Body, Request, Response, Timeout

UNSET: Any = msgspec.UNSET


if TYPE_CHECKING:  # for type checkers only: a TypedDict costs a first client's import 0.2 ms

    class RequestOptions(TypedDict, total=False):
        """The per-call options every method takes, as in the official v2 SDK."""

        extra_headers: Mapping[str, str | Omit] | None
        extra_query: Mapping[str, object] | None
        extra_body: Mapping[str, object] | None
        timeout: float | Timeout | NotGiven | None
        max_retries: int | None


#: ``RequestOptions``'s keys.
_OPTION_NAMES = frozenset({"extra_headers", "extra_query", "extra_body", "timeout", "max_retries"})


def check_options(method: str, options: Mapping[str, Any]) -> None:
    for name in options:
        if name not in _OPTION_NAMES:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")


def merge_headers(
    headers: Mapping[str, str | None] | None, extra: Mapping[str, str | Omit] | None
) -> Mapping[str, str | None] | None:
    """A call's headers with its ``extra_headers`` on top (``omit`` removes one)."""
    if not extra:
        return headers
    merged: dict[str, str | None] = dict(headers or {})
    for key, value in extra.items():
        merged[key] = None if isinstance(value, Omit) else value
    return merged


def path_param(name: str, value: object) -> str:
    """A path segment, URL-quoted; an empty or non-string value is rejected before any request."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError(f"Expected a non-empty value for `{name}` but received {value!r}")
    if value.isascii() and value.isalnum():  # an id: nothing to quote (every get passes here)
        return value
    return quote(value, safe="")


def call_flow(
    send: Generator[Action, Any, Response],
    cast: Any,
    wrap: Callable[[Any], Any] | None,
    *,
    defer: bool = False,
) -> Generator[Action, Any, tuple[Response, Any]]:
    """Send, then decode the body as ``cast`` and ``wrap`` it. With ``defer=True`` (a
    ``with_streaming_response`` call) the body is left unread and the value is the
    :class:`~replicate._cast.Deferred` that decodes it when asked, unless ``cast`` is
    :class:`~replicate.Response` (a download), which reads nothing anyway."""
    response = yield from send
    if defer and cast is not _Response:
        return response, Deferred(cast, wrap)
    value = decode_as(response, cast)
    if wrap is not None:
        value = wrap(value)
    return response, value


class _Decode:
    """A plain call's last step: its response's body decoded as ``cast`` (``decode_as``)."""

    __slots__ = ("cast",)

    def __init__(self, cast: Any) -> None:
        self.cast = cast

    def __call__(self, response: Response) -> Any:
        return decode_as(response, self.cast)


class Resource:
    """Base of every resource: holds the client it sends through."""

    __slots__ = ("_client",)

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    @property
    def with_raw_response(self) -> Any:
        """This resource, but every method returns an :class:`~replicate.APIResponse` holding
        the HTTP response (status, headers such as ``ratelimit-remaining``) and, through
        ``.parse()``, the object the method normally returns."""
        return type(self)(self._client.with_raw_response)

    @property
    def with_streaming_response(self) -> Any:
        """This resource, but every method returns a context manager: entering it sends the
        request and gives an :class:`~replicate.APIResponse` whose body is read only when asked
        (``iter_bytes()``, ``read()``, ``parse()``...); leaving it closes the connection."""
        return type(self)(self._client.with_streaming_response)

    def _request(
        self,
        method: str,
        path: str,
        *,
        options: Mapping[str, Any],
        params: Mapping[str, object] | None = None,
        body: Any = UNSET,
        content: Body | str = None,
        headers: Mapping[str, str | None] | None = None,
        idempotent: bool | None = None,
    ) -> Request:
        """The Request for a call, with the caller's ``extra_*`` options merged in."""
        if options:  # most calls have none
            extra_body = options.get("extra_body")
            if extra_body:
                if body is UNSET:
                    body = dict(extra_body)
                elif isinstance(body, dict):
                    body = {**body, **extra_body}
                else:
                    raise TypeError("extra_body can only extend a JSON object body")
            extra_query = options.get("extra_query")
            if extra_query:
                params = {**(params or {}), **extra_query}
            headers = merge_headers(headers, options.get("extra_headers"))
        return self._client._core.build(
            method,
            path,
            params=params,
            json=body,
            content=content,
            headers=headers,
            idempotent=idempotent,
        )

    def _send(
        self, request: Request, options: Mapping[str, Any], *, stream: bool = False
    ) -> Generator[Action, Any, Response]:
        if not options:
            return self._client._core.send_flow(request, stream=stream)
        timeout = options.get("timeout", NOT_GIVEN)
        return self._client._core.send_flow(
            request, timeout=timeout, max_retries=options.get("max_retries"), stream=stream
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        cast: Any,
        options: Mapping[str, Any],
        params: Mapping[str, object] | None = None,
        body: Any = UNSET,
        content: Body | str = None,
        headers: Mapping[str, str | None] | None = None,
        idempotent: bool | None = None,
        stream: bool = False,
        wrap: Callable[[Any], Any] | None = None,
        encode_input: bool = False,
        file_encoding_strategy: str | None = None,
    ) -> Any:
        """Build, send and decode one call; what the client hands back depends on the client:
        the value; the raw response with it (``with_raw_response``); or a context manager that
        sends on entering and leaves the body unread until asked (``with_streaming_response``).

        With ``encode_input=True`` (the creates), ``body["input"]`` is first encoded in the same
        flow: files uploaded (all at once) or inlined per ``file_encoding_strategy``, other
        values through the ``replicate_encode_input`` hooks; see :mod:`replicate._inputs`."""
        if encode_input:
            return self._client._execute(
                self._encoded_call_flow(
                    method,
                    path,
                    cast=cast,
                    options=options,
                    params=params,
                    body=body,
                    headers=headers,
                    idempotent=idempotent,
                    stream=stream,
                    wrap=wrap,
                    file_encoding_strategy=file_encoding_strategy,
                )
            )
        request = self._request(
            method,
            path,
            options=options,
            params=params,
            body=body,
            content=content,
            headers=headers,
            idempotent=idempotent,
        )
        defer = self._client._streamed
        send = self._send(request, options, stream=stream or defer)
        return self._client._execute(call_flow(send, cast, wrap, defer=defer))

    def _get(self, path: str, cast: Any, options: Mapping[str, Any]) -> Any:
        """``_call("GET", path, cast=cast, options=options)``, with fewer layers when there is
        nothing but the value to return (no options, a plain client): the most common call."""
        client = self._client
        if options or client._raw or client._streamed:
            return self._call("GET", path, cast=cast, options=options)
        core = client._core
        return client._run(core.send_flow(core.build("GET", path)), _Decode(cast))

    def _encoded_call_flow(
        self,
        method: str,
        path: str,
        *,
        cast: Any,
        options: Mapping[str, Any],
        params: Mapping[str, object] | None,
        body: Any,
        headers: Mapping[str, str | None] | None,
        idempotent: bool | None,
        stream: bool,
        wrap: Callable[[Any], Any] | None,
        file_encoding_strategy: str | None,
    ) -> Generator[Action, Any, tuple[Response, Any]]:
        from .._inputs import encode_input_flow

        if isinstance(body, dict) and "input" in body:
            body = dict(body)
            body["input"] = yield from encode_input_flow(
                self._client._core, body["input"], file_encoding_strategy=file_encoding_strategy
            )
        request = self._request(
            method,
            path,
            options=options,
            params=params,
            body=body,
            headers=headers,
            idempotent=idempotent,
        )
        defer = self._client._streamed
        send = self._send(request, options, stream=stream or defer)
        return (yield from call_flow(send, cast, wrap, defer=defer))

    def _list(
        self,
        path: str,
        item_type: Any,
        *,
        options: Mapping[str, Any],
        params: Mapping[str, object] | None = None,
        method: str = "GET",
        content: Body | str = None,
        headers: Mapping[str, str | None] | None = None,
    ) -> Any:
        """A paginated list: the first page, wrapped so that iterating follows ``next`` (on
        an async client, an awaitable and async-iterable ``AsyncPaginator`` of it)."""
        from ..pagination import AsyncPage, Follow, SyncPage
        from ..types import Page

        client = self._client._plain()
        page_class = AsyncPage if client._is_async else SyncPage
        follow = Follow(
            method,
            content=content,
            headers=merge_headers(headers, options.get("extra_headers")),
            timeout=options.get("timeout", NOT_GIVEN),
            max_retries=options.get("max_retries"),
        )
        return self._client._paginate(
            lambda: self._call(
                method,
                path,
                cast=Page[item_type],
                options=options,
                params=params,
                content=content,
                headers=headers,
                idempotent=True,
                wrap=lambda page: page_class(client, page, item_type, follow),
            )
        )
