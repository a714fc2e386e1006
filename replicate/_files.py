"""``FileOutput``: a file a prediction produced, downloaded on demand.

A FileOutput holds a URL (an ``https://`` URL on a delivery host or the files API, or a ``data:``
URL) and the client (the facade) that produced it. Downloads are its core's send flow, driven by
that client,
so retries, redirects, timeouts and auth scoping apply as to any other request: the token is
added only for URLs in the client's auth scope (the API origin and its allowlist, where files-API
URLs live), never for delivery hosts or anything else. ``data:`` URLs decode locally.
"""

from __future__ import annotations

import base64
import binascii
import os
import pathlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from ._drivers import CloseResponse, Emit, NextChunk, ReadBody
from ._fallback import default_async_client, default_client
from ._save import awrite_atomically, write_atomically
from .exceptions import APIConnectionError, ReplicateError

if TYPE_CHECKING:
    from ._drivers import Flow
    from ._facade import BaseClient
    from ._http import Response

__all__ = ["AsyncFileOutput", "FileOutput", "get_path_url"]

#: Image types notebook front ends render; others get no preview.
_PREVIEW_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/svg+xml"}
)
_UNKNOWN: Any = object()
_DEFAULT_NAME = "output"


class FileOutput:
    """A file output of a prediction: ``url``, ``read()``, byte-chunk iteration and ``save()``.

    ``str(output)`` is the URL. Nothing is downloaded until asked for: ``read()`` returns the
    whole body, iterating yields it in chunks as they arrive (for large files), and
    ``save(path)`` streams it to disk atomically. A pickled FileOutput carries only its URL and
    downloads through :func:`replicate.default_client` once unpickled.
    """

    __slots__ = ("_client", "_content_type", "_preview", "url")

    def __init__(self, url: str, *, client: BaseClient | None = None) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be a string, not {type(url).__name__}")
        self.url = url
        self._client = client
        self._content_type: str | None = _UNKNOWN
        self._preview: tuple[str, bytes] | None = _UNKNOWN

    @property
    def __url__(self) -> str:
        """The remote URL (what :func:`replicate.get_path_url` returns, as in v2)."""
        return self.url

    # --- downloading --------------------------------------------------------------------------

    def read(self) -> bytes:
        """The whole file as bytes (``data:`` URLs decode without any network call)."""
        if self._is_data():  # no client needed
            return self._local(self._data()[1])  # type: ignore[no-any-return]
        return self._client_or_default()._run(self._read_flow())  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[bytes]:
        """The file in byte chunks as they arrive, without holding it all in memory."""
        return self._chunks()  # type: ignore[no-any-return]

    def _chunks(self) -> Any:
        if self._is_data():  # no client needed
            return self._local_chunks(self._data()[1])
        return self._client_or_default()._iter(self._chunks_flow())

    @staticmethod
    def _local(data: bytes) -> Any:
        return data

    @staticmethod
    def _local_chunks(data: bytes) -> Any:
        return iter((data,))

    def _read_flow(self) -> Flow[bytes]:
        """Download the whole body (its length checked against what the server announced)."""
        if self._is_data():
            return self._data()[1]
        response = yield from self._open_flow()
        body: bytes = yield ReadBody(response)
        _check_length(response, len(body), self.url)
        return body

    def _chunks_flow(self) -> Flow[None]:
        """Emit the body's chunks as they arrive; a short body raises at the end."""
        if self._is_data():
            yield Emit(self._data()[1])
            return
        response = yield from self._open_flow()
        response._prefer_large_reads()  # 64 KiB reads would cost a download half its speed
        closing = False
        try:
            received = 0
            while True:
                chunk = yield NextChunk(response)
                if not chunk:
                    break
                received += len(chunk)
                yield Emit(chunk)
            _check_length(response, received, self.url)
        except GeneratorExit:  # the consumer stopped: no more actions may be yielded
            closing = True
            response._release()
            raise
        finally:
            if not closing:
                yield CloseResponse(response)

    def _open_flow(self, method: str = "GET", *, raise_for_status: bool = True) -> Flow[Response]:
        """A streamed response for the URL, sent through the client's send flow."""
        if urlsplit(self.url).scheme.lower() not in ("http", "https"):
            raise ValueError(f"cannot download {_short(self.url)!r}: not an http(s) or data: URL")
        core = self._client_or_default()._core
        request = core.build(method, self.url, headers={"Accept": "*/*"}, add_default_query=False)
        response = yield from core.send_flow(
            request, stream=True, raise_for_status=raise_for_status
        )
        if response.status_code < 300:
            self._content_type = response.headers.get("content-type") or None
        return response

    def save(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Download to ``path`` (a file name, or a directory to keep the URL's file name in)
        and return the path written.

        The body goes to a temporary file in the same directory, renamed over ``path`` only once
        it is complete: a failed or short download (fewer bytes than the server announced) raises
        :class:`~replicate.APIConnectionError` and leaves no file behind. The file is not
        fsynced before the rename (no more than pip's downloads are): that would cost a large
        download a third of its speed, and only a power loss or a system crash could then leave
        it short.
        """
        target = self._target(path)
        write_atomically(target, iter(self))
        return target

    def _target(self, path: str | os.PathLike[str]) -> pathlib.Path:
        target = pathlib.Path(path)
        if target.is_dir() or os.fspath(path).endswith(("/", os.sep)):
            target = target / self.filename
        return target

    @property
    def filename(self) -> str:
        """The last segment of the URL's path (``out-0.png``), safe to use as a file name;
        ``output`` plus an extension for its type when the URL has none (``data:`` URLs)."""
        if self._is_data():
            return _DEFAULT_NAME + _extension(self._data()[0])
        name = unquote(urlsplit(self.url).path.rpartition("/")[2])
        for bad in ("/", "\\", "\x00"):
            name = name.replace(bad, "_")
        name = name.strip()
        if name in ("", ".", ".."):
            return _DEFAULT_NAME
        return name

    @property
    def content_type(self) -> str | None:
        """The media type: from a ``data:`` URL, or the server's ``Content-Type`` (asked with a
        HEAD request the first time, unless a download already told it). None if unknown."""
        if self._content_type is _UNKNOWN:
            if self._is_data():
                self._content_type = self._data()[0]
            else:
                self._content_type = self._probe_content_type()
        return self._content_type

    def _client_or_default(self) -> BaseClient:
        client = self._client
        if client is None:
            client = self._client = self._default_client()
        return client

    @staticmethod
    def _default_client() -> BaseClient:
        return default_client()

    def _open(self, method: str = "GET", *, raise_for_status: bool = True) -> Response:
        """A streamed response for the URL (sync clients: previews and type probes)."""
        return self._client_or_default()._run(  # type: ignore[no-any-return]
            self._open_flow(method, raise_for_status=raise_for_status)
        )

    def _probe_content_type(self) -> str | None:
        with self._open("HEAD", raise_for_status=False) as response:
            if response.status_code < 300:
                return response.headers.get("content-type") or None
        # Some hosts (signed storage URLs) answer GET only: read the headers of a GET instead.
        with self._open("GET") as response:
            return response.headers.get("content-type") or None

    # --- data: URLs ---------------------------------------------------------------------------

    def _is_data(self) -> bool:
        return self.url[:5].lower() == "data:"

    def _data(self) -> tuple[str, bytes]:
        return decode_data_url(self.url)

    # --- notebooks ----------------------------------------------------------------------------

    def _image(self) -> tuple[str, bytes] | None:
        """(media type, bytes) when the file is an image a notebook can show; downloaded once."""
        if self._preview is not _UNKNOWN:
            return self._preview
        preview: tuple[str, bytes] | None = None
        if self._is_data():
            mime, body = self._data()
            if _main_type(mime) in _PREVIEW_TYPES:
                preview = (_main_type(mime), body)
        else:
            import mimetypes

            guess = mimetypes.guess_type(urlsplit(self.url).path)[0]
            known = self._content_type if self._content_type is not _UNKNOWN else None
            hint = _main_type(known) if known else guess
            if hint is None or hint in _PREVIEW_TYPES or hint == "application/octet-stream":
                try:
                    with self._open() as response:
                        mime = _main_type(response.headers.get("content-type"))
                        if mime in ("", "application/octet-stream") and guess in _PREVIEW_TYPES:
                            mime = guess or ""
                        if mime in _PREVIEW_TYPES:
                            body = response.read()
                            _check_length(response, len(body), self.url)
                            preview = (mime, body)
                except ReplicateError:
                    return None  # show the plain repr; try again next time
        self._preview = preview
        return preview

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, bytes | str] | None:
        image = self._image()
        if image is None:
            return None
        mime, body = image
        if (include and mime not in include) or (exclude and mime in exclude):
            return None
        if mime == "image/svg+xml":
            return {mime: body.decode("utf-8", errors="replace")}
        return {mime: body}

    def _repr_png_(self) -> bytes | None:
        image = self._image()
        return image[1] if image is not None and image[0] == "image/png" else None

    def _repr_jpeg_(self) -> bytes | None:
        image = self._image()
        return image[1] if image is not None and image[0] == "image/jpeg" else None

    # --- value behaviour ----------------------------------------------------------------------

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"FileOutput({_short(self.url)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileOutput):
            return self.url == other.url
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.url)

    def __reduce__(self) -> tuple[type[FileOutput], tuple[str]]:
        # The URL only: no client, so no token and no sockets travel with it.
        return (type(self), (self.url,))

    def __copy__(self) -> FileOutput:
        return type(self)(self.url, client=self._client)

    def __deepcopy__(self, memo: dict[int, Any]) -> FileOutput:
        return type(self)(self.url, client=self._client)


class AsyncFileOutput(FileOutput):
    """A file output of a prediction run on an async client: ``await output.read()`` (or
    ``aread()``), ``async for chunk in output`` and ``await output.save(path)`` download it
    through that client, without blocking the event loop.

    ``url``, ``filename`` and ``str()`` are as on :class:`FileOutput`. ``content_type`` asks
    no server here (a property cannot await): it is known for ``data:`` URLs and once a
    download has started, None before that. Notebook previews show ``data:`` images only. A
    pickled one downloads through :func:`replicate.default_async_client` once unpickled.
    """

    __slots__ = ()

    @staticmethod
    def _default_client() -> BaseClient:
        return default_async_client()

    async def aread(self) -> bytes:
        """The whole file as bytes."""
        return await self.read()

    async def aclose(self) -> None:
        """Nothing to release: each download closes its connection when it ends (v2's name)."""

    def __iter__(self) -> Iterator[bytes]:
        raise TypeError("an AsyncFileOutput is read with `async for chunk in output`")

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()  # type: ignore[no-any-return]

    @staticmethod
    async def _local(data: bytes) -> bytes:
        return data

    @staticmethod
    async def _local_chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    @property
    def content_type(self) -> str | None:
        if self._content_type is _UNKNOWN:
            if not self._is_data():
                return None
            self._content_type = self._data()[0]
        return self._content_type

    def _image(self) -> tuple[str, bytes] | None:
        return super()._image() if self._is_data() else None

    async def save(self, path: str | os.PathLike[str]) -> pathlib.Path:  # type: ignore[override]
        """Download to ``path`` as :meth:`FileOutput.save` does (atomically: a failed or short
        download leaves no file behind), reading the body without blocking the event loop."""
        target = self._target(path)
        await awrite_atomically(target, self.__aiter__())
        return target

    if TYPE_CHECKING:

        async def read(self) -> bytes: ...  # type: ignore[override]


def get_path_url(obj: Any) -> str | None:
    """The remote URL behind a file output (its ``__url__``), or None for anything else."""
    try:
        url = obj.__url__
    except AttributeError:
        return None
    return url if isinstance(url, str) else None


def decode_data_url(url: str) -> tuple[str, bytes]:
    """(media type, bytes) of a ``data:`` URL, base64 or percent-encoded (RFC 2397)."""
    if url[:5].lower() != "data:":
        raise ValueError(f"not a data: URL: {_short(url)!r}")
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise ValueError(f"malformed data: URL (no comma): {_short(url)!r}")
    params = [p.strip() for p in header.split(";")]
    is_base64 = len(params) > 1 and params[-1].lower() == "base64"
    if is_base64:
        params.pop()
    mime = ";".join(params) if params and params[0] else "text/plain;charset=US-ASCII"
    raw = unquote_to_bytes(payload)
    if not is_base64:
        return mime, raw
    raw = b"".join(raw.split())
    try:
        return mime, base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"malformed base64 in data: URL {_short(url)!r}: {exc}") from None


def _check_length(response: Response, received: int, url: str) -> None:
    """Raise if the server announced more (or fewer) bytes than arrived."""
    encoding = (response.headers.get("content-encoding") or "identity").strip().lower()
    if encoding not in ("", "identity"):
        return  # the length counts the encoded bytes; the transport hands back decoded ones
    declared = response.headers.get("content-length")
    if declared is None:
        return
    try:
        expected = int(declared)
    except ValueError:
        return
    if received != expected:
        from ._redact import redact_url

        raise APIConnectionError(
            f"download of {redact_url(url)} ended after {received} of {expected} bytes",
            request=response.request,
        )


def _main_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


def _extension(content_type: str) -> str:
    import mimetypes

    return mimetypes.guess_extension(_main_type(content_type)) or ""


def _short(url: str, limit: int = 100) -> str:
    """The URL for messages and reprs; long ``data:`` URLs are cut."""
    if len(url) > limit and url[:5].lower() == "data:":
        return url[: limit - 1] + "…"
    return url
