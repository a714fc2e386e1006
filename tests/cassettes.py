"""Load recorded Replicate API traffic (the v1 SDK's cassettes) as plain request/response pairs.

The cassettes are YAML files written by vcrpy / pytest-recording for the v1 ``replicate-python``
test suite. Two layouts occur, and both load into the same :class:`Exchange`:

* "httpx" layout (older): ``response.status_code``, ``response.content`` (text, already decoded,
  even when the recorded headers still say ``Content-Encoding: gzip``), ``response.http_version``.
* "vcrpy" layout (newer): ``response.status: {code, message}``, ``response.body: {string: ...}``
  where the string may be a ``!!binary`` blob that is still gzip-compressed.

:attr:`Exchange.response_body` is always the decoded (identity) body; the recorded
``Content-Encoding`` is kept in :attr:`Exchange.recorded_content_encoding`, and
:meth:`Exchange.replay_headers` gives headers fit to send with the decoded body.

Nothing is skipped: every interaction in every ``*.yaml`` file under the directory (recursively)
becomes one :class:`Exchange`, and anything the loader cannot make sense of raises
:class:`CassetteError` instead of being dropped.

Typical use::

    from cassettes import load_all  # or: from tests.cassettes import load_all

    for ex in load_all():
        print(ex.cassette, ex.method, ex.path, ex.status, len(ex.response_body))

The directory is ``v1-cassettes`` in the reference data (``reference.py``: ``../shared/reference``
from the project root, or ``$REPLICATE_REFERENCE_DIR``); :func:`cassette_dir` returns ``None``
when the reference data is not there.
"""

from __future__ import annotations

import functools
import gzip
import json
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

try:
    from tests import reference
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    import reference

__all__ = [
    "CassetteError",
    "Exchange",
    "cassette_dir",
    "cassette_files",
    "load_all",
    "load_cassette",
    "summary",
]


# Headers that describe the recorded transfer rather than the decoded body.
_TRANSFER_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CassetteError(ValueError):
    """A cassette file or interaction the loader does not understand."""


Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exchange:
    """One recorded HTTP request and its response."""

    cassette: str
    """Path relative to the cassette directory, e.g. ``historical/models-versions-get.yaml``."""
    index: int
    """Position of this interaction within its cassette (0-based)."""
    layout: str
    """``"httpx"`` or ``"vcrpy"``."""
    method: str
    """Upper-case method; includes ``QUERY`` (models search)."""
    url: str
    request_headers: Headers
    """``(name, value)`` pairs in recorded order and case; repeated names repeat."""
    request_body: bytes
    status: int
    reason: str
    """The status message, or ``""`` when the layout did not record one."""
    http_version: str | None
    response_headers: Headers
    """As recorded, including ``Content-Encoding``/``Content-Length`` of the original transfer."""
    response_body: bytes
    """The decoded body (gzip already undone)."""
    recorded_content_encoding: str | None
    """The recorded ``Content-Encoding`` header, if any."""

    @property
    def id(self) -> str:
        """A short unique label, ``cassette#index``, handy for test ids."""
        return f"{self.cassette}#{self.index}"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        """URL path, e.g. ``/v1/predictions/abc``."""
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    def request_header(self, name: str) -> str | None:
        """First request header named ``name`` (case-insensitive), or ``None``."""
        return _first(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        """First response header named ``name`` (case-insensitive), or ``None``."""
        return _first(self.response_headers, name)

    @property
    def content_type(self) -> str:
        """The response's media type, lower-case, without parameters (``""`` if absent)."""
        value = self.response_header("content-type") or ""
        return value.split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        """Whether the response declares a JSON media type (including ``problem+json``)."""
        ct = self.content_type
        return ct == "application/json" or ct.endswith("+json")

    def json(self) -> Any:
        """The response body parsed as JSON."""
        return json.loads(self.response_body)

    def replay_headers(self) -> list[tuple[str, str]]:
        """Response headers for serving :attr:`response_body` as is.

        Drops the transfer headers of the original response (``Content-Encoding``,
        ``Content-Length``, ``Transfer-Encoding``, ``Connection``, ``Keep-Alive``); a server should
        set its own ``Content-Length`` (or re-compress and set ``Content-Encoding``).
        """
        return [(k, v) for k, v in self.response_headers if k.lower() not in _TRANSFER_HEADERS]


def _first(headers: Headers, name: str) -> str | None:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


def cassette_dir() -> Path | None:
    """The cassette directory (see the module docstring), or ``None`` if there is none."""
    root = reference.directory()
    if root is None:
        return None
    path = root / reference.CASSETTES_NAME
    if not path.is_dir():
        raise CassetteError(f"the reference data at {root} has no {reference.CASSETTES_NAME}/")
    return path


def cassette_files(directory: Path | None = None) -> list[Path]:
    """Every ``*.yaml`` file under ``directory`` (recursively), sorted."""
    root = directory or cassette_dir()
    if root is None:
        return []
    return sorted(root.rglob("*.yaml"))


def _headers(raw: Any, where: str) -> Headers:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise CassetteError(f"{where}: headers are {type(raw).__name__}, expected a mapping")
    pairs: list[tuple[str, str]] = []
    for name, values in raw.items():
        if isinstance(values, (str, int)):
            values = [values]
        if not isinstance(values, list):
            raise CassetteError(f"{where}: header {name!r} has value {values!r}")
        pairs.extend((str(name), str(v)) for v in values)
    return tuple(pairs)


def _bytes(raw: Any, where: str) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8")
    if isinstance(raw, dict) and "string" in raw:  # vcrpy: body: {string: ...}
        return _bytes(raw["string"], where)
    raise CassetteError(f"{where}: body is {type(raw).__name__}")


def _decode_body(body: bytes, encoding: str | None, where: str) -> bytes:
    """Undo a recorded ``Content-Encoding`` when the stored body is still encoded."""
    if not encoding or not body:
        return body
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        if coding in ("gzip", "x-gzip"):
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            # else: the httpx layout stores decoded text under the original header.
        elif coding == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                try:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
                except zlib.error:
                    pass  # already decoded
        elif coding != "identity":
            raise CassetteError(f"{where}: cannot undo Content-Encoding {encoding!r}")
    return body


def _exchange(cassette: str, index: int, interaction: Any) -> Exchange:
    where = f"{cassette}#{index}"
    if not isinstance(interaction, dict):
        raise CassetteError(f"{where}: interaction is {type(interaction).__name__}")
    request = interaction.get("request")
    response = interaction.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise CassetteError(f"{where}: missing request or response")

    if "status_code" in response:
        layout = "httpx"
        status = int(response["status_code"])
        reason = ""
        body_raw = response.get("content")
    elif isinstance(response.get("status"), dict):
        layout = "vcrpy"
        status = int(response["status"]["code"])
        reason = str(response["status"].get("message") or "")
        body_raw = response.get("body")
    else:
        raise CassetteError(f"{where}: unknown response layout, keys {sorted(response)}")

    response_headers = _headers(response.get("headers"), where)
    encoding = _first(response_headers, "content-encoding")
    body = _decode_body(_bytes(body_raw, where), encoding, where)
    http_version = response.get("http_version")

    method = request.get("method")
    url = request.get("uri") or request.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        raise CassetteError(f"{where}: request has no method or uri")

    return Exchange(
        cassette=cassette,
        index=index,
        layout=layout,
        method=method.upper(),
        url=url,
        request_headers=_headers(request.get("headers"), where),
        request_body=_bytes(request.get("body"), where),
        status=status,
        reason=reason,
        http_version=str(http_version) if http_version is not None else None,
        response_headers=response_headers,
        response_body=body,
        recorded_content_encoding=encoding,
    )


def load_cassette(path: Path, root: Path | None = None) -> list[Exchange]:
    """Every interaction in one cassette file, in recorded order."""
    name = path.relative_to(root).as_posix() if root else path.name
    with path.open("rb") as fh:
        data = yaml.load(fh, Loader=_Loader)  # a safe loader (C or Python)
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(f"{name}: no 'interactions' list")
    return [_exchange(name, i, it) for i, it in enumerate(data["interactions"])]


@functools.lru_cache(maxsize=4)
def _load_all(root: Path) -> tuple[Exchange, ...]:
    exchanges: list[Exchange] = []
    for path in cassette_files(root):
        exchanges.extend(load_cassette(path, root))
    return tuple(exchanges)


def load_all(directory: Path | None = None) -> tuple[Exchange, ...]:
    """Every exchange of every cassette (cached per directory); ``()`` if there is no directory."""
    root = directory or cassette_dir()
    if root is None:
        return ()
    return _load_all(root.resolve())


def summary(exchanges: tuple[Exchange, ...] | list[Exchange]) -> dict[str, int]:
    """Counts of exchanges per cassette file, for reports and sanity checks."""
    return dict(Counter(ex.cassette for ex in exchanges))
