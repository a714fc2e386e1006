"""Routes of the Files API (``/v1/files``) and of model output files (``/emulator/outputs``).

Uploads are ``multipart/form-data`` with a ``content`` file part and optional ``filename``,
``type`` and ``metadata`` fields; without them the file part's own filename and Content-Type
are used. Output files and signed downloads need no token (the app leaves them out of auth);
everything else works on ``emu.blobs``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import msgspec

from .pages import paginate
from .wire import EmuRequest, EmuResponse, HTTPError, Router, json_response

__all__ = ["MultipartError", "parse_multipart", "routes"]

routes = Router()

_MAX_FILENAME = 255


class MultipartError(ValueError):
    """A body that is not the multipart/form-data it claims to be."""


class Part:
    """One part of a multipart body."""

    __slots__ = ("content_type", "data", "filename", "name")

    def __init__(self, name: str, filename: str | None, content_type: str | None, data: bytes):
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.data = data


_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


def _params(value: str) -> dict[str, str]:
    """A header's ``; key=value`` parameters; quoted values unescaped, ``key*`` (RFC 5987)
    values decoded, and the ``%22``/``%0D``/``%0A`` escapes browsers and urllib3 use."""
    found: dict[str, str] = {}
    for match in _PARAM.finditer(value):
        key = match.group(1).lower()
        raw = match.group(2)
        if raw is not None:
            text = re.sub(r"\\(.)", r"\1", raw)
            text = text.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
        else:
            text = (match.group(3) or "").strip()
        if key.endswith("*"):
            charset, _, rest = text.partition("'")
            _, _, encoded = rest.partition("'")
            try:
                text = unquote(encoded, encoding=charset or "utf-8", errors="strict")
            except (LookupError, UnicodeDecodeError):
                continue
            key = key[:-1]
            found[key] = text  # the extended form wins over the plain one
        else:
            found.setdefault(key, text)
    return found


def boundary_of(content_type: str) -> str | None:
    mime, _, _ = content_type.partition(";")
    if mime.strip().lower() != "multipart/form-data":
        return None
    return _params(content_type).get("boundary") or None


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """The parts of a ``multipart/form-data`` body (RFC 7578)."""
    delimiter = b"--" + boundary.encode("latin-1")
    if body.startswith(delimiter):
        position = 0
    else:
        position = body.find(b"\r\n" + delimiter)
        if position < 0:
            raise MultipartError("the body has no part with the announced boundary")
        position += 2
    parts: list[Part] = []
    while True:
        position += len(delimiter)
        if body.startswith(b"--", position):
            return parts
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise MultipartError("the body ends inside a boundary line")
        head_start = line_end + 2
        head_end = body.find(b"\r\n\r\n", head_start - 2)
        if head_end < 0:
            raise MultipartError("a part's headers never end")
        next_delimiter = body.find(b"\r\n" + delimiter, head_end + 4)
        if next_delimiter < 0:
            raise MultipartError("the body ends before its closing boundary")
        headers = _part_headers(body[head_start:head_end])
        data = body[head_end + 4 : next_delimiter]
        disposition = headers.get("content-disposition", "")
        if disposition.split(";", 1)[0].strip().lower() != "form-data":
            raise MultipartError("a part is not form-data")
        params = _params(disposition)
        if "name" not in params:
            raise MultipartError("a part has no name")
        parts.append(
            Part(params["name"], params.get("filename"), headers.get("content-type"), data)
        )
        position = next_delimiter + 2


def _part_headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", errors="replace").split("\r\n"):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise MultipartError(f"a part header is malformed: {line[:60]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def _too_large(emu: Any) -> HTTPError:
    limit_mb = emu.blobs.max_upload // (1024 * 1024)
    return HTTPError(413, f"Files must be less than {limit_mb}MB in size")


def _not_found() -> HTTPError:
    return HTTPError(404, "File not found", title="Not found")


@routes.route("POST", "/v1/files")
def create_file(emu: Any, req: EmuRequest) -> EmuResponse:
    boundary = boundary_of(req.headers.get("content-type", ""))
    if boundary is None:
        raise HTTPError(
            400, "The request body must be multipart/form-data with a boundary parameter"
        )
    # The multipart framing adds little: a body this much over the limit holds a file over it.
    if len(req.body) > emu.blobs.max_upload + 64 * 1024:
        raise _too_large(emu)
    try:
        parts = parse_multipart(req.body, boundary)
    except MultipartError as exc:
        raise HTTPError(400, f"Invalid multipart body: {exc}") from None
    fields = {part.name: part for part in parts}
    content = fields.get("content")
    if content is None:
        raise HTTPError(422, "The request must include the file as a 'content' part")
    if len(content.data) >= emu.blobs.max_upload:
        raise _too_large(emu)
    filename = _text(fields.get("filename")) or content.filename or "file"
    if len(filename.encode("utf-8")) > _MAX_FILENAME:
        raise HTTPError(422, f"filename must be at most {_MAX_FILENAME} bytes of UTF-8")
    content_type = _text(fields.get("type")) or content.content_type or "application/octet-stream"
    metadata: Any = {}
    raw_metadata = fields.get("metadata")
    if raw_metadata is not None and raw_metadata.data.strip():
        try:
            metadata = msgspec.json.decode(raw_metadata.data)
        except msgspec.DecodeError:
            raise HTTPError(422, "metadata must be valid JSON") from None
        if not isinstance(metadata, dict):
            raise HTTPError(422, "metadata must be a JSON object")
    record = emu.blobs.put(
        content.data, name=filename, content_type=content_type, kind="upload", metadata=metadata
    )
    return json_response(201, emu.blobs.file_json(req.origin, record))


def _text(part: Part | None) -> str | None:
    if part is None:
        return None
    try:
        return part.data.decode("utf-8").strip() or None
    except UnicodeDecodeError:
        raise HTTPError(422, f"{part.name} must be UTF-8 text") from None


@routes.route("GET", "/v1/files")
def list_files(emu: Any, req: EmuRequest) -> Any:
    return paginate(req, [emu.blobs.file_json(req.origin, r) for r in emu.blobs.list()])


@routes.route("GET", "/v1/files/{file_id}")
def get_file(emu: Any, req: EmuRequest, file_id: str) -> Any:
    record = emu.blobs.get(file_id)
    if record is None:
        raise _not_found()
    return emu.blobs.file_json(req.origin, record)


@routes.route("DELETE", "/v1/files/{file_id}")
def delete_file(emu: Any, req: EmuRequest, file_id: str) -> EmuResponse:
    if emu.blobs.get(file_id) is None or not emu.blobs.delete(file_id):
        raise _not_found()
    return EmuResponse(204)


@routes.route("GET", "/v1/files/{file_id}/download")
def download_file(emu: Any, req: EmuRequest, file_id: str) -> EmuResponse:
    """The bytes, for a valid unexpired signature of ``"{owner} {id} {expiry}"``; a bad or
    expired signature is a 404, as for a file that does not exist."""
    owner = req.param("owner") or ""
    expiry = req.param("expiry") or ""
    signature = req.param("signature") or ""
    if not emu.blobs.verify_download(file_id, owner, expiry, signature):
        raise _not_found()
    record = emu.blobs.get(file_id)
    data = emu.blobs.read(file_id) if record is not None else None
    if record is None or data is None:
        raise _not_found()
    return _bytes_response(data, record.name, record.content_type)


@routes.route("GET", "/emulator/outputs/{prediction_id}/{name}")
def get_output(emu: Any, req: EmuRequest, prediction_id: str, name: str) -> EmuResponse:
    blob = emu.blobs.read_output(unquote(prediction_id), unquote(name))
    if blob is None:
        raise HTTPError(404, "Output file not found", title="Not found")
    return _bytes_response(bytes(blob), blob.name or name, blob.content_type)


def _bytes_response(data: bytes, name: str, content_type: str | None) -> EmuResponse:
    safe_name = name.replace('"', "").replace("\r", "").replace("\n", "")
    return EmuResponse(
        200,
        [
            ("Content-Type", content_type or "application/octet-stream"),
            ("Content-Disposition", f'inline; filename="{safe_name}"'),
        ],
        data,
    )
