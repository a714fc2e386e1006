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
from collections.abc import Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from ._fallback import default_client
from ._save import write_atomically
from .exceptions import APIConnectionError, ReplicateError

if TYPE_CHECKING:
    from ._client import Replicate
    from ._http import Response

__all__ = ["FileOutput", "get_path_url"]

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

    def __init__(self, url: str, *, client: Replicate | None = None) -> None:
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
        if self._is_data():
            return self._data()[1]
        with self._open() as response:
            body = response.read()
            _check_length(response, len(body), self.url)
        return body

    def __iter__(self) -> Generator[bytes, None, None]:
        """The file in byte chunks as they arrive, without holding it all in memory."""
        if self._is_data():
            yield self._data()[1]
            return
        response = self._open()
        try:
            received = 0
            for chunk in response.iter_bytes():
                if chunk:
                    received += len(chunk)
                    yield chunk
            _check_length(response, received, self.url)
        finally:
            response.close()

    def save(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Download to ``path`` (a file name, or a directory to keep the URL's file name in)
        and return the path written.

        The body goes to a temporary file in the same directory, renamed over ``path`` only once
        it is complete: a failed or short download (fewer bytes than the server announced) raises
        :class:`~replicate.APIConnectionError` and leaves no file behind.
        """
        target = pathlib.Path(path)
        raw = os.fspath(path)
        if target.is_dir() or raw.endswith(("/", os.sep)):
            target = target / self.filename
        write_atomically(target, iter(self))
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

    def _client_or_default(self) -> Replicate:
        client = self._client
        if client is None:
            client = self._client = default_client()
        return client

    def _open(self, method: str = "GET", *, raise_for_status: bool = True) -> Response:
        """A streamed response for the URL, sent through the client's send flow."""
        if urlsplit(self.url).scheme.lower() not in ("http", "https"):
            raise ValueError(f"cannot download {_short(self.url)!r}: not an http(s) or data: URL")
        client = self._client_or_default()
        core = client._core
        request = core.build(method, self.url, headers={"Accept": "*/*"}, add_default_query=False)
        flow = core.send_flow(request, stream=True, raise_for_status=raise_for_status)
        response: Response = client._run(flow)
        if response.status_code < 300:
            self._content_type = response.headers.get("content-type") or None
        return response

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
        return (FileOutput, (self.url,))

    def __copy__(self) -> FileOutput:
        return FileOutput(self.url, client=self._client)

    def __deepcopy__(self, memo: dict[int, Any]) -> FileOutput:
        return FileOutput(self.url, client=self._client)


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
