"""Stored bytes: files uploaded through the Files API and files models output.

An upload is a file record (state kind ``"file"``, the API's file object) plus its bytes; it
expires ``file_ttl`` seconds after creation (24 hours, as the API's do), after which it is
gone. Its ``urls.get`` (``{origin}/v1/files/{id}``) is what clients pass as a prediction input,
and :meth:`Blobs.read_url` turns that back into the bytes. A signed download URL
(``/v1/files/{id}/download?owner=&expiry=&signature=``, the signature a base64 HMAC-SHA256 of
``"{owner} {id} {expiry}"``) serves the bytes without a token until it expires.

A model's output file becomes a ``data:`` URL when it is at most ``inline_limit`` bytes (the
API inlines small sync-mode outputs the same way, and a data URL needs no second request), else
a URL on the emulator's origin, ``{origin}/emulator/outputs/{prediction_id}/{name}``, served by
:mod:`.routes_files` without a token, as Replicate's delivery hosts serve outputs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import mimetypes
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes, urlencode, urlsplit

from .predictors import encode_output
from .state import State

__all__ = ["Blob", "Blobs", "FileRecord", "iso_ms"]

#: The owner the emulator signs download URLs for (its account's username).
OWNER = "emulator"
_SECRET_KEY = "files/signing-secret"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_API_HOSTS = frozenset({"api.replicate.com"})


class Blob(bytes):
    """Bytes read back from a URL, with the ``name`` and ``content_type`` they were stored
    under (None when the URL does not say)."""

    name: str | None
    content_type: str | None

    def __new__(cls, data: bytes, name: str | None = None, content_type: str | None = None) -> Blob:
        blob = super().__new__(cls, data)
        blob.name = name
        blob.content_type = content_type
        return blob


def iso_ms(seconds: float) -> str:
    """RFC 3339 with milliseconds and ``Z``, as the Files API writes its times."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class FileRecord:
    """One stored file: an upload (``kind="upload"``) or a model's output (``"output"``)."""

    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    md5: str
    created_at: float
    expires_at: float | None
    kind: str = "upload"
    prediction_id: str | None = None
    metadata: Any = field(default_factory=dict)

    def as_json(self, origin: str) -> dict[str, Any]:
        """The API's file object, its URL on ``origin``."""
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "etag": self.md5,
            "checksums": {"sha256": self.sha256, "md5": self.md5},
            "metadata": self.metadata,
            "created_at": iso_ms(self.created_at),
            "expires_at": iso_ms(self.expires_at) if self.expires_at is not None else None,
            "urls": {"get": f"{origin}/v1/files/{self.id}"},
        }

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "md5": self.md5,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "kind": self.kind,
            "prediction_id": self.prediction_id,
            "metadata": self.metadata,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> FileRecord:
        fields: dict[str, Any] = {k: doc.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)


def _new_id() -> str:
    # The API's newer file ids are the base64 of a UUID (48 letters and digits, no padding).
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


class Blobs:
    """The emulator's stored files (``emu.blobs``)."""

    def __init__(
        self,
        state: State,
        *,
        clock: Callable[[], float] = time.time,
        inline_limit: int = 256 * 1024,
        file_ttl: float = 24 * 3600.0,
        max_upload: int = 100 * 1024 * 1024,
    ) -> None:
        self.state = state
        self.clock = clock
        #: Output files of at most this many bytes become data URLs.
        self.inline_limit = inline_limit
        #: Seconds an upload lives.
        self.file_ttl = file_ttl
        #: Uploads must be smaller than this (the API's 100 MB).
        self.max_upload = max_upload
        #: Origins URLs were built on: a URL on one of them (or on the API's host, or a
        #: loopback host) is the emulator's own and :meth:`read_url` reads it.
        self.origins: set[str] = set()
        self._lock = threading.Lock()
        self._secret: bytes | None = None

    # -- uploads and records -------------------------------------------------------------------

    def put(
        self,
        data: bytes,
        *,
        name: str,
        content_type: str | None,
        kind: str = "upload",
        prediction_id: str | None = None,
        metadata: Any = None,
    ) -> FileRecord:
        """Store ``data``; uploads get a file record (listed by the Files API), outputs a
        record under their prediction."""
        now = self.clock()
        record = FileRecord(
            id=_new_id(),
            name=name,
            content_type=content_type
            or mimetypes.guess_type(name)[0]
            or "application/octet-stream",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            created_at=now,
            expires_at=now + self.file_ttl if kind == "upload" else None,
            kind=kind,
            prediction_id=prediction_id,
            metadata={} if metadata is None else metadata,
        )
        if kind == "output":
            key = self._output_key(prediction_id or "", name)
            record.id = key
            self.state.put_blob(f"output/{key}", data)
            self.state.put("output", key, record.to_doc())
        else:
            self.state.put_blob(f"file/{record.id}", data)
            self.state.put("file", record.id, record.to_doc())
        return record

    def get(self, file_id: str) -> FileRecord | None:
        """An upload's record; None when there is none or it expired (it is then removed)."""
        doc = self.state.get("file", file_id)
        if doc is None:
            return None
        record = FileRecord.from_doc(doc)
        if record.expires_at is not None and record.expires_at <= self.clock():
            self.delete(file_id)
            return None
        return record

    def read(self, file_id: str) -> bytes | None:
        """An upload's bytes (None when it is gone)."""
        if self.get(file_id) is None:
            return None
        return self.state.get_blob(f"file/{file_id}")

    def delete(self, file_id: str) -> bool:
        self.state.delete_blob(f"file/{file_id}")
        return self.state.delete("file", file_id)

    def list(self) -> list[FileRecord]:
        """The live uploads, newest first."""
        now = self.clock()
        records = []
        for doc in self.state.list("file"):
            record = FileRecord.from_doc(doc)
            if record.expires_at is not None and record.expires_at <= now:
                self.delete(record.id)
            else:
                records.append(record)
        return records

    def file_json(self, origin: str, record: FileRecord) -> dict[str, Any]:
        self.origins.add(origin)
        return record.as_json(origin)

    # -- signed download URLs ------------------------------------------------------------------

    def _signing_secret(self) -> bytes:
        if self._secret is None:
            with self._lock:
                secret = self.state.get_blob(_SECRET_KEY)
                if secret is None:
                    secret = secrets.token_bytes(32)
                    self.state.put_blob(_SECRET_KEY, secret)
                self._secret = secret
        return self._secret

    def signature(self, owner: str, file_id: str, expiry: int) -> str:
        message = f"{owner} {file_id} {expiry}".encode()
        digest = hmac.new(self._signing_secret(), message, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def download_url(self, origin: str, file_id: str, *, expires_in: float = 3600.0) -> str:
        """A signed URL that downloads an upload without a token until ``expires_in`` seconds
        from now (or the file's own expiry, if sooner)."""
        expiry = int(self.clock() + expires_in)
        query = urlencode(
            {"expiry": expiry, "owner": OWNER, "signature": self.signature(OWNER, file_id, expiry)}
        )
        self.origins.add(origin)
        return f"{origin}/v1/files/{file_id}/download?{query}"

    def verify_download(self, file_id: str, owner: str, expiry: str, signature: str) -> bool:
        """Whether a download URL's parameters are a valid, unexpired signature of the file."""
        try:
            when = int(expiry)
        except ValueError:
            return False
        if when < self.clock():
            return False
        expected = self.signature(owner, file_id, when)
        return hmac.compare_digest(expected.encode(), signature.encode())

    # -- outputs -------------------------------------------------------------------------------

    def _output_key(self, prediction_id: str, name: str) -> str:
        """``{prediction_id}/{name}``, the name made unique within the prediction
        (``out.png``, ``out-1.png``, ...)."""
        name = name.replace("/", "_").replace("\\", "_").strip() or "output"
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext, dot = name, "", ""
        candidate, n = name, 0
        with self._lock:
            while self.state.get("output", f"{prediction_id}/{candidate}") is not None:
                n += 1
                candidate = f"{stem}-{n}{dot}{ext}"
            # Claimed at once, so that two outputs of one prediction never share a name.
            self.state.put("output", f"{prediction_id}/{candidate}", {"claimed": True})
        return f"{prediction_id}/{candidate}"

    def output_url(
        self,
        origin: str,
        prediction_id: str,
        name: str,
        data: bytes,
        content_type: str | None,
        *,
        inline: bool | None = None,
    ) -> str:
        """Where a model's output file is served: a data URL when ``inline`` (by default,
        when it is at most ``inline_limit`` bytes), else a URL on ``origin``."""
        content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        if inline if inline is not None else len(data) <= self.inline_limit:
            return f"data:{content_type};base64,{base64.b64encode(data).decode()}"
        record = self.put(
            data, name=name, content_type=content_type, kind="output", prediction_id=prediction_id
        )
        self.origins.add(origin)
        pid, _, stored = record.id.partition("/")
        return f"{origin}/emulator/outputs/{quote(pid, safe='')}/{quote(stored, safe='')}"

    def encode_output(
        self, origin: str, prediction_id: str, value: Any, *, inline: bool | None = None
    ) -> Any:
        """A model's output (or one yield) as JSON, its files stored (see
        :func:`.predictors.encode_output` and :meth:`output_url`)."""

        def store(name: str, data: bytes, content_type: str | None) -> str:
            return self.output_url(origin, prediction_id, name, data, content_type, inline=inline)

        return encode_output(value, store)

    def read_output(self, prediction_id: str, name: str) -> Blob | None:
        key = f"{prediction_id}/{name}"
        doc = self.state.get("output", key)
        data = self.state.get_blob(f"output/{key}")
        if doc is None or data is None:
            return None
        return Blob(data, doc.get("name") or name, doc.get("content_type"))

    def delete_outputs(self, prediction_id: str) -> int:
        """Remove a prediction's output files (when its data is removed); how many."""
        count = 0
        for doc in self.state.list("output"):
            key = doc.get("id")
            if doc.get("prediction_id") == prediction_id and isinstance(key, str):
                self.state.delete("output", key)
                self.state.delete_blob(f"output/{key}")
                count += 1
        return count

    # -- reading inputs ------------------------------------------------------------------------

    def read_url(self, url: str) -> Blob:
        """The bytes behind a file input's URL: a ``data:`` URL, or one of the emulator's own
        upload, download or output URLs. Anything else (the emulator is offline), or a file
        that is gone, is a ValueError saying why."""
        if url[:5].lower() == "data:":
            return _data_url(url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{_short(url)} is not a data: or http(s) URL")
        origin = f"{parts.scheme}://{parts.netloc}"
        host = parts.hostname.lower()
        if origin not in self.origins and host not in _API_HOSTS and host not in _LOOPBACK:
            raise ValueError(
                f"{_short(url)} cannot be fetched: the emulator is offline and reads only "
                "data: URLs and its own file URLs"
            )
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if len(segments) in (3, 4) and segments[:2] == ["v1", "files"]:
            if len(segments) == 4 and segments[3] != "download":
                raise ValueError(f"{_short(url)} is not a file URL")
            file_id = segments[2]
            record = self.get(file_id)
            data = self.read(file_id) if record is not None else None
            if record is None or data is None:
                raise ValueError(f"file {file_id} not found (deleted or expired)")
            return Blob(data, record.name, record.content_type)
        if len(segments) == 4 and segments[:2] == ["emulator", "outputs"]:
            blob = self.read_output(segments[2], segments[3])
            if blob is None:
                raise ValueError(f"output file {_short(url)} not found")
            return blob
        raise ValueError(f"{_short(url)} is not a file URL of the emulator")

    def check_url(self, url: str) -> None:
        """Raise ValueError when :meth:`read_url` could not read ``url`` (for validating a
        prediction's inputs before it is created)."""
        if url[:5].lower() == "data:":
            _data_url(url)
        else:
            self.read_url(url)


def _short(url: str) -> str:
    return repr(url if len(url) <= 80 else url[:77] + "...")


def _data_url(url: str) -> Blob:
    head, comma, payload = url.partition(",")
    if not comma:
        raise ValueError(f"{_short(url)} is not a valid data URL (no comma)")
    params = head[5:].split(";")
    is_base64 = params[-1].strip().lower() == "base64"
    if is_base64:
        params = params[:-1]
    content_type = params[0].strip() or None if params else None
    if is_base64:
        try:
            data = base64.b64decode(
                payload.strip() + "=" * (-len(payload.strip()) % 4), validate=False
            )
        except (binascii.Error, ValueError):
            raise ValueError(f"{_short(url)} has invalid base64 data") from None
    else:
        data = unquote_to_bytes(payload)
    return Blob(data, None, content_type or "text/plain")
