"""``client.files``: upload, list, get, delete and download files (the Files API).

An upload's multipart body, streamed from its source and sent again on a retry, is built by
``_multipart``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._multipart import FileContent, FileTypes, upload_body
from .._sentinels import NOT_GIVEN, NotGiven
from ..types import File
from ._base import Resource, check_options, path_param

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._response import BinaryAPIResponse
    from ..pagination import SyncPage
    from ._base import RequestOptions


class Files(Resource):
    """Files: ``POST /files`` and friends."""

    __slots__ = ()

    def create(
        self,
        *,
        content: FileTypes,
        filename: str | NotGiven | None = NOT_GIVEN,
        metadata: object | NotGiven = NOT_GIVEN,
        type: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> File:
        """Upload a file (``POST /files``, multipart/form-data) and return its File object.

        ``content`` is bytes, a binary file object (read from its current position), a path
        (``pathlib.Path``), or a ``(filename, contents[, content_type[, headers]])`` tuple. A plain
        ``str`` is refused: wrap a path in ``pathlib.Path`` or encode text to bytes.

        ``filename`` defaults to the tuple's or the file's name, else ``"upload"``; ``type`` to
        the tuple's content type, else a guess from the filename, else
        ``application/octet-stream``. ``metadata`` (any JSON value) is sent as one
        ``application/json`` part; without it (or with None) no metadata part is sent, as in
        v2. ``extra_body`` entries become extra form fields.

        Files are streamed from disk with a ``Content-Length``. The API refuses files of 100 MB
        or more (413). A seekable file or a path is sent again if the request is retried (only a
        429, or a connection that failed before sending: creating is not idempotent); a
        non-seekable stream is sent once, chunked.
        """
        extra_fields = options.pop("extra_body", None) or {}
        check_options("create", options)
        body, headers = upload_body(
            content,
            filename=None if isinstance(filename, NotGiven) else filename,
            type=None if isinstance(type, NotGiven) else type,
            metadata=None if isinstance(metadata, NotGiven) else metadata,
            extra_fields=extra_fields,
        )
        return self._call(  # type: ignore[no-any-return]
            "POST", "/files", cast=File, options=options, content=body, headers=headers
        )

    def get(self, file_id: str, **options: Unpack[RequestOptions]) -> File:
        check_options("get", options)
        path = f"/files/{path_param('file_id', file_id)}"
        return self._get(path, File, options)  # type: ignore[no-any-return]

    def list(self, **options: Unpack[RequestOptions]) -> SyncPage[File]:
        """Files, newest first, across every page (iterate), or page by page."""
        check_options("list", options)
        return self._list("/files", File, options=options)  # type: ignore[no-any-return]

    def delete(self, file_id: str, **options: Unpack[RequestOptions]) -> None:
        check_options("delete", options)
        path = f"/files/{path_param('file_id', file_id)}"
        return self._call("DELETE", path, cast=None, options=options)  # type: ignore[no-any-return]

    def download(
        self,
        file_id: str,
        *,
        expiry: int,
        owner: str,
        signature: str,
        **options: Unpack[RequestOptions],
    ) -> BinaryAPIResponse:
        """Download a file's bytes with a signed URL's parameters (``GET /files/{id}/download``).

        The body is not read yet: use ``.read()``, ``.iter_bytes()``, or ``.write_to_file(path)``
        (which streams to a temporary file and renames it into place only once complete), and
        close the response (or use it as a context manager) if you don't read it all.
        """
        from .._http import Response
        from .._response import AsyncBinaryAPIResponse, BinaryAPIResponse

        check_options("download", options)
        path = f"/files/{path_param('file_id', file_id)}/download"
        return self._call(  # type: ignore[no-any-return]
            "GET",
            path,
            cast=Response,
            options=options,
            params={"expiry": expiry, "owner": owner, "signature": signature},
            headers={"Accept": "application/octet-stream"},
            stream=True,
            wrap=AsyncBinaryAPIResponse if self._client._is_async else BinaryAPIResponse,
        )


__all__ = ["FileContent", "FileTypes", "Files"]
