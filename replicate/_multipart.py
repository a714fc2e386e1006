"""Upload bodies: the multipart/form-data body of ``POST /files``, streamed from its source.

Uploads are streamed: a file on disk is read in 1 MiB chunks while it is sent, never whole, and
the request carries a ``Content-Length`` computed up front. The body can be sent again (a 429
is retried) because it re-reads the file from its start each time it is iterated.

``files.create`` sends :func:`upload_body`'s body; the input encoder (``_inputs``) builds one
request per file of a prediction's input with :func:`build_create_request` and sends them all
at once.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._http import Request

__all__ = [
    "FileContent",
    "FileTypes",
    "MultipartBody",
    "build_create_request",
    "build_multipart",
    "upload_body",
]

#: What ``files.create(content=...)`` takes (v2's ``FileTypes``): bytes, a binary file object, a
#: path (``pathlib.Path`` or any ``os.PathLike``), or a ``(filename, contents)``,
#: ``(filename, contents, content_type)`` or ``(filename, contents, content_type, headers)``
#: tuple whose ``contents`` is any of those (or a ``str``, sent as UTF-8 text).
FileContent = bytes | bytearray | memoryview | IO[bytes] | os.PathLike[str]
FileTypes = FileContent | tuple[Any, ...]

#: The read size of a file whose size is known: each chunk is one send, and at 64 KiB the calls
#: per chunk cost a 100 MB upload over loopback about a third of its speed.
CHUNK_SIZE = 1024 * 1024
#: The read size of a stream of unknown size (a pipe, stdin): its bytes go out as they come,
#: not once a whole megabyte has arrived.
STREAM_CHUNK_SIZE = 64 * 1024
DEFAULT_FILENAME = "upload"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_ENCODING_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "br": "application/x-brotli",
    "compress": "application/x-compress",
}


def build_create_request(
    core: ClientCore,
    *,
    content: FileTypes,
    filename: str | None = None,
    type: str | None = None,
    metadata: object = None,
) -> Request:
    """The ``POST /files`` Request that ``files.create`` sends, built but not sent (the
    input encoder sends several at once). Send it with ``core.send_flow`` and parse a File."""
    body, headers = upload_body(content, filename=filename, type=type, metadata=metadata)
    return core.build("POST", "/files", content=body, headers=headers)


def upload_body(
    content: FileTypes,
    *,
    filename: str | None,
    type: str | None,
    metadata: object,
    extra_fields: Mapping[str, object] | None = None,
) -> tuple[Any, dict[str, str]]:
    """The multipart body of an upload and its headers. A body that can only be read once goes
    as a one-shot iterator, which the core knows not to resend."""
    body = build_multipart(
        content,
        filename=filename,
        content_type=type,
        metadata=metadata,
        extra_fields=extra_fields or {},
    )
    headers = {"Content-Type": body.content_type}
    if body.length is not None:
        headers["Content-Length"] = str(body.length)
    return (body if body.replayable else iter(body)), headers


# --- multipart bodies ---------------------------------------------------------------------------


class MultipartBody:
    """A multipart/form-data body sent as chunks: the small fields and the file part's headers,
    then the file in chunks read as they are sent, then the closing boundary.

    Iterating starts over each time (re-reading the file from its start), so the core can send
    it again on a retry; ``length`` is the exact byte count, or None for a one-shot stream.
    """

    __slots__ = ("_head", "_source", "_tail", "content_type", "length", "replayable")

    def __init__(self, head: bytes, source: _Source, tail: bytes, boundary: str) -> None:
        self._head = head
        self._source = source
        self._tail = tail
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.length = None if source.size is None else len(head) + source.size + len(tail)
        self.replayable = source.replayable

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        yield from self._source.chunks()
        yield self._tail

    def __repr__(self) -> str:
        return f"<MultipartBody length={self.length}>"


class _Source:
    """Where the file part's bytes come from."""

    size: int | None = None
    replayable = True

    def chunks(self) -> Iterator[bytes]:
        raise NotImplementedError


class _BytesSource(_Source):
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    def chunks(self) -> Iterator[bytes]:
        if self._data:
            yield self._data


class _PathSource(_Source):
    """A file on disk, opened afresh for each sending."""

    def __init__(self, path: str) -> None:
        self._path = path
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"content is a directory, not a file: {path!r}")
        if stat.S_ISREG(info.st_mode):
            self.size = info.st_size
        else:  # a FIFO or device: size unknown, readable once
            self.replayable = False

    def chunks(self) -> Iterator[bytes]:
        with open(self._path, "rb") as f:
            yield from _read_chunks(f, self.size, self._path)


class _FileSource(_Source):
    """An open binary file: seekable ones are rewound to where they started for each sending
    (and never closed here: they belong to the caller); others are read once."""

    def __init__(self, f: IO[bytes]) -> None:
        self._file = f
        self._start: int | None = None
        try:
            if f.seekable():
                start = f.tell()
                end = f.seek(0, io.SEEK_END)
                f.seek(start)
                self._start = start
                self.size = max(0, end - start)
        except (AttributeError, OSError, ValueError):
            self._start = None
        self.replayable = self._start is not None

    def chunks(self) -> Iterator[bytes]:
        if self._start is not None:
            self._file.seek(self._start)
        yield from _read_chunks(self._file, self.size, getattr(self._file, "name", None))


def _read_chunks(f: IO[bytes], size: int | None, name: object) -> Iterator[bytes]:
    """``size`` bytes of ``f`` in chunks (or all of it when the size is unknown). A file that
    shrank since its size was taken is an error: the Content-Length already sent can't be met."""
    remaining = size
    while remaining is None or remaining > 0:
        data = f.read(STREAM_CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                "content must be a binary file (open it in 'rb' mode), "
                f"but read() returned {type(data).__name__}"
            )
        if not data:
            if remaining is not None:
                raise OSError(
                    f"file {name!r} ended {remaining} bytes early: it changed while uploading"
                )
            return
        if remaining is not None:
            remaining -= len(data)
        yield bytes(data)


def build_multipart(
    content: object,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    metadata: object = None,
    extra_fields: Mapping[str, object] | None = None,
    boundary: str | None = None,
) -> MultipartBody:
    """The ``POST /files`` body: ``filename`` and ``type`` fields, ``metadata`` as one JSON part
    (none when ``metadata`` is None), any extra fields, then the ``content`` file part."""
    import msgspec
    from urllib3.fields import RequestField
    from urllib3.filepost import choose_boundary

    part_headers: Mapping[str, str] = {}
    if isinstance(content, tuple):
        if not 2 <= len(content) <= 4:
            raise TypeError(
                "a content tuple is (filename, contents), (filename, contents, content_type) "
                f"or (filename, contents, content_type, headers), not {len(content)} items"
            )
        tuple_name, inner, tuple_type, part_headers = (*content, None, None)[:4]
        if isinstance(inner, str):
            inner = inner.encode("utf-8")
        source, found_name = _source_for(inner)
        filename = filename or tuple_name or found_name
        content_type = content_type or tuple_type
        part_headers = dict(part_headers or {})
    else:
        source, found_name = _source_for(content)
        filename = filename or found_name
    if filename is not None and not isinstance(filename, str):
        raise TypeError(f"filename must be a string, not {type(filename).__name__}")
    filename = filename or DEFAULT_FILENAME
    if content_type is not None and not isinstance(content_type, str):
        raise TypeError(f"type must be a string such as 'image/png', not {content_type!r}")
    content_type = content_type or _guess_type(filename)
    try:
        metadata_json = None if metadata is None else msgspec.json.encode(metadata)
    except TypeError as exc:
        raise TypeError(f"metadata is not JSON-serialisable: {exc}") from None

    boundary = boundary or choose_boundary()
    delimiter = f"--{boundary}\r\n".encode("latin-1")

    def part(name: str, data: bytes, **kw: Any) -> bytes:
        headers = kw.pop("headers", None)
        ctype = kw.pop("content_type", None)
        field = RequestField(name=name, data=b"", headers=headers, **kw)
        field.make_multipart(content_type=ctype)
        # make_multipart sets the standard headers; any caller-given ones stay after them.
        return delimiter + field.render_headers().encode("utf-8") + data

    fields = [
        part("filename", filename.encode("utf-8")),
        part("type", content_type.encode("utf-8")),
    ]
    if metadata_json is not None:
        fields.append(part("metadata", metadata_json, content_type="application/json"))
    for name, value in (extra_fields or {}).items():
        data = value.encode("utf-8") if isinstance(value, str) else msgspec.json.encode(value)
        fields.append(part(str(name), data))
    file_head = part(
        "content", b"", filename=filename, content_type=content_type, headers=part_headers
    )
    head = b"\r\n".join([*fields, file_head])
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    return MultipartBody(head, source, tail, boundary)


def _source_for(content: object) -> tuple[_Source, str | None]:
    """The byte source for ``content`` and the file name it carries, if any."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return _BytesSource(bytes(content)), None
    if isinstance(content, str):
        raise TypeError(
            "content must be bytes, a binary file or a path, not str: a str is ambiguous. "
            "Pass pathlib.Path(...) to upload a file on disk, or text.encode() to upload text"
        )
    if isinstance(content, os.PathLike):
        path = os.fsdecode(os.fspath(content))
        return _PathSource(path), os.path.basename(path) or None
    if isinstance(content, io.TextIOBase):
        raise TypeError("content must be a binary file: open it in 'rb' mode, not 'r'")
    if callable(getattr(content, "read", None)):
        name = getattr(content, "name", None)
        if isinstance(name, (str, bytes)):
            name = os.path.basename(os.fsdecode(name))
            if name.startswith("<") and name.endswith(">"):  # <stdin> and the like
                name = None
        else:
            name = None
        return _FileSource(content), name  # type: ignore[arg-type]
    raise TypeError(
        "content must be bytes, a binary file object, a path (os.PathLike) or a "
        f"(filename, contents[, type]) tuple, not {type(content).__name__}"
    )


def _guess_type(filename: str) -> str:
    import mimetypes

    guessed, encoding = mimetypes.guess_type(filename, strict=False)
    if encoding is not None:
        return _ENCODING_TYPES.get(encoding, DEFAULT_CONTENT_TYPE)
    return guessed or DEFAULT_CONTENT_TYPE
