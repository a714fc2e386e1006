"""Turning a prediction's input into JSON: files become URLs, numpy values become numbers.

Every create (``predictions``, ``models.predictions``, ``deployments.predictions``,
``trainings``) runs :func:`encode_input_flow` on its input before it builds the request. The
flow walks the input (dicts, lists, tuples, nested to any depth); each value that is not plain
JSON goes to the ``replicate_encode_input`` hook (plugins first, the built-in encoder last).
An encoder answers with the replacement value, or with an :class:`Upload` for content to send
through the files API. Hooks are synchronous and cannot send anything, so the flow collects the
uploads and sends them all at once (one :class:`~replicate._drivers.Gather`), then puts each
file's ``urls.get`` in its place; under a run's deadline every upload ends by the deadline, and
one cut short by it raises PredictionTimeoutError. Everything that can go wrong without the
network (an unencodable value, a text-mode file, a missing path, an oversized inline file)
raises before any request is sent.
"""

from __future__ import annotations

import base64
import datetime as _dt
import enum
import io
import math
import mimetypes
import os
import pathlib
import sys
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._drivers import Gather

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._deadline import Deadline
    from ._drivers import Flow
    from ._http import Request

__all__ = [
    "BASE64_LIMIT",
    "STRATEGIES",
    "InputContext",
    "Upload",
    "check_strategy",
    "encode_builtin",
    "encode_input_flow",
]

#: The ``file_encoding_strategy`` values: upload through the files API (the default), or inline
#: as a ``data:`` URL.
STRATEGIES = ("url", "base64")
#: The most bytes a file may have to be inlined with ``file_encoding_strategy="base64"``.
BASE64_LIMIT = 256 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: How many times a value may be re-encoded (an encoder answering with another value that needs
#: encoding) before it counts as a loop.
_MAX_DEPTH = 16
#: How many lists and dicts may nest inside one another: deeper is refused with a TypeError
#: naming the input rather than a RecursionError (the walk recurses once per level).
_MAX_NESTING = 200
_PLAIN = frozenset({str, int, float, bool, type(None)})


class InputContext:
    """What an input encoder is told besides the value (the hook's ``context``).

    ``client`` is the core of the client making the call (a :class:`~replicate._core.ClientCore`:
    its ``config`` and ``base_url``), ``file_encoding_strategy`` ``"url"`` or
    ``"base64"``, and ``path`` where the value sits in the input: ``"image"``,
    ``"images[2]"``, ``"config.mask"``.
    """

    __slots__ = ("client", "file_encoding_strategy", "path")

    def __init__(self, client: ClientCore, file_encoding_strategy: str, path: str) -> None:
        self.client = client
        self.file_encoding_strategy = file_encoding_strategy
        self.path = path

    def __repr__(self) -> str:
        return (
            f"InputContext(path={self.path!r}, "
            f"file_encoding_strategy={self.file_encoding_strategy!r})"
        )


class Upload:
    """An encoder's answer meaning "upload this through the files API and use its URL".

    ``content`` is bytes, a binary file object (read from its current position, left open) or
    a path (opened, streamed and closed by the upload). ``filename`` and ``content_type``
    default to the file's name and a guess from it.
    """

    __slots__ = ("content", "content_type", "filename", "metadata")

    def __init__(
        self,
        content: Any,
        filename: str | None = None,
        content_type: str | None = None,
        metadata: Any = None,
    ) -> None:
        self.content = content
        self.filename = filename
        self.content_type = content_type
        self.metadata = metadata

    def __repr__(self) -> str:
        return f"Upload(filename={self.filename!r}, content_type={self.content_type!r})"


class _Pending:
    """Where an upload's URL goes, until the uploads are done."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def check_strategy(file_encoding_strategy: str | None) -> str:
    """``"url"`` or ``"base64"``; None means ``"url"``. Anything else is a ValueError."""
    if file_encoding_strategy is None:
        return "url"
    if isinstance(file_encoding_strategy, str) and file_encoding_strategy in STRATEGIES:
        return file_encoding_strategy
    raise ValueError(
        "file_encoding_strategy must be 'url' (upload files through the files API, the default) "
        f"or 'base64' (inline them as data: URLs), not {file_encoding_strategy!r}"
    )


def encode_input_flow(
    core: ClientCore,
    input: Mapping[str, Any],
    *,
    file_encoding_strategy: str | None = None,
    deadline: Deadline | None = None,
) -> Flow[dict[str, Any]]:
    """The input as JSON-ready values, uploading the files in it (all at once) on the way.

    A flow: drive it with a facade's driver, or ``yield from`` it in another flow. Raises
    TypeError naming the input (``"images[1]"``) for a value nothing can encode, and ValueError
    for an unknown ``file_encoding_strategy`` or a file too large to inline; both before any
    request. Under a ``deadline`` each upload (retries included) ends by it, and one it cuts
    short raises its PredictionTimeoutError.
    """
    strategy = check_strategy(file_encoding_strategy)
    if not isinstance(input, Mapping):
        raise TypeError(
            f"input must be a mapping of input names to values, not {type(input).__name__}"
        )
    walker = _Walker(core, strategy)
    encoded = walker.walk_input(input)
    if walker.uploads:
        requests = [walker.request_for(i) for i in range(len(walker.uploads))]
        urls = yield Gather([_upload_flow(core, request, deadline) for request in requests])
        for container, key, pending in walker.slots:
            container[key] = urls[pending.index]
    return encoded


def _upload_flow(core: ClientCore, request: Request, deadline: Deadline | None) -> Flow[str]:
    from .exceptions import APIConnectionError, ReplicateError
    from .types import File

    try:
        response = yield from core.send_flow(request, deadline=deadline)
    except APIConnectionError as exc:
        if deadline is not None and deadline.expired(slack=0.01):  # a timeout cut by the deadline
            raise deadline.not_created("uploading the input files") from exc
        raise
    file: File = response.parse(File)
    url = file.urls.get if file.urls is not None else None
    if not url:
        raise ReplicateError(f"the files API returned no URL for uploaded file {file.id!r}")
    return url


def _child(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


class _Walker:
    """One input's walk: the encoded copy, plus the uploads it needs and where their URLs go."""

    def __init__(self, core: ClientCore, strategy: str) -> None:
        self.core = core
        self.strategy = strategy
        self.hook = core.plugins.pm.hook.replicate_encode_input
        self.uploads: list[tuple[Upload, str]] = []
        self.slots: list[tuple[Any, Any, _Pending]] = []
        self._seen: dict[Any, _Pending] = {}
        #: ids of the lists and dicts being walked, outermost first: a value found among them
        #: contains itself, and their number is the nesting depth.
        self._open: list[int] = []

    def walk_input(self, input: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in input.items():
            if not isinstance(key, str):
                raise TypeError(f"input names must be strings, not {type(key).__name__} ({key!r})")
            self._put(out, key, self.walk(value, key, 0))
        return out

    def _put(self, container: Any, key: Any, value: Any) -> None:
        container[key] = value
        if type(value) is _Pending:
            self.slots.append((container, key, value))

    def walk(self, value: Any, path: str, depth: int) -> Any:
        kind = type(value)
        if kind in _PLAIN:
            if kind is float and not math.isfinite(value):
                raise ValueError(
                    f"input {path!r}: {value!r} is not a JSON number (JSON has no NaN or Infinity)"
                )
            return value
        if kind is dict:
            self._enter(value, path)
            out: dict[str, Any] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(
                        f"input {path!r}: object keys must be strings, not "
                        f"{type(key).__name__} ({key!r})"
                    )
                self._put(out, key, self.walk(item, _child(path, key), depth))
            self._open.pop()
            return out
        if kind is list or kind is tuple:
            self._enter(value, path)
            items: list[Any] = []
            for index, item in enumerate(value):
                items.append(None)
                self._put(items, index, self.walk(item, f"{path}[{index}]", depth))
            self._open.pop()
            return items
        return self.encode(value, path, depth)

    def _enter(self, container: Any, path: str) -> None:
        """Note a list or dict about to be walked; refuse one that contains itself or nests
        deeper than JSON inputs ever need. (An error ends the whole walk, so nothing pops.)"""
        open_ = self._open
        if len(open_) >= _MAX_NESTING or id(container) in open_:
            shown = path if len(path) <= 80 else path[:80] + "..."
            problem = (
                f"lists and dicts nest more than {_MAX_NESTING} levels deep"
                if len(open_) >= _MAX_NESTING
                else f"the {type(container).__name__} contains itself (a reference cycle)"
            )
            raise TypeError(f"input {shown!r}: {problem}; JSON cannot encode it")
        open_.append(id(container))

    def encode(self, value: Any, path: str, depth: int) -> Any:
        if depth >= _MAX_DEPTH:
            raise TypeError(
                f"input {path!r}: encoding {type(value).__name__} did not settle on JSON after "
                f"{_MAX_DEPTH} steps (an input encoder keeps answering with values to encode)"
            )
        context = InputContext(self.core, self.strategy, path)
        result = self.hook(value=value, context=context)
        if result is None:
            raise TypeError(
                f"input {path!r}: {type(value).__module__}.{type(value).__qualname__} is not "
                "JSON-serialisable. Pass str, int, float, bool, None, lists and dicts of them, "
                "or a file (pathlib.Path, an open binary file, bytes) to upload; other types "
                "need a replicate_encode_input plugin"
            )
        if isinstance(result, Upload):
            return self.add_upload(result, value, path)
        if result is value:
            raise TypeError(
                f"input {path!r}: an input encoder returned the {type(value).__name__} unchanged"
            )
        return self.walk(result, path, depth + 1)

    def add_upload(self, upload: Upload, value: Any, path: str) -> _Pending:
        # The same file twice in one input (a path, or the very same object) is sent once.
        key: Any
        if isinstance(upload.content, os.PathLike):
            key = ("path", os.path.abspath(os.fsdecode(os.fspath(upload.content))))
        else:
            key = ("object", id(upload.content))
        pending = self._seen.get(key)
        if pending is None:
            pending = _Pending(len(self.uploads))
            self.uploads.append((upload, path))
            self._seen[key] = pending
        return pending

    def request_for(self, index: int) -> Request:
        from ._multipart import build_create_request

        upload, path = self.uploads[index]
        try:
            return build_create_request(
                self.core,
                content=upload.content,
                filename=upload.filename,
                type=upload.content_type,
                metadata=upload.metadata,
            )
        except (OSError, TypeError, ValueError) as exc:
            try:
                named = type(exc)(f"input {path!r}: {exc}")
            except Exception:  # an exception type that wants other arguments: keep it as is
                raise exc from None
            raise named from exc


# --- the built-in encoder (the trylast replicate_encode_input) ---------------------------------


def encode_builtin(value: Any, context: InputContext) -> Any:
    """The built-in answer for one value, or None if it knows no JSON form for it.

    Files (``pathlib.Path``/``os.PathLike``, binary file objects, ``bytes``/``bytearray``/
    ``memoryview``) become an :class:`Upload` (or a ``data:`` URL with the ``"base64"``
    strategy); a previous run's output file (anything with a string ``__url__``) its URL; numpy
    scalars and arrays (when numpy is already imported) Python numbers and lists; datetimes and
    dates ISO 8601 strings; UUIDs strings; enums their value; subclasses of the JSON types and
    other mappings and sequences their plain form.
    """
    url = getattr(value, "__url__", None)
    if isinstance(url, str) and url:
        return url
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):  # bool can't be subclassed, so this is an int subclass
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if context.file_encoding_strategy == "base64":
            return _data_url(data, None, context.path)
        return Upload(data)
    if isinstance(value, os.PathLike):
        return _encode_path(os.fsdecode(os.fspath(value)), context)
    if isinstance(value, io.IOBase) or callable(getattr(value, "read", None)):
        return _encode_file(value, context)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    np = sys.modules.get("numpy")  # never imported here: only if the caller uses numpy
    if np is not None:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    return None


def _encode_path(path: str, context: InputContext) -> Any:
    if not os.path.exists(path):
        raise FileNotFoundError(f"input {context.path!r}: no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"input {context.path!r}: {path!r} is a directory, not a file")
    if context.file_encoding_strategy == "base64":
        size = os.path.getsize(path)
        if size > BASE64_LIMIT:
            raise _too_large(context.path, size)
        with open(path, "rb") as f:
            data = f.read(BASE64_LIMIT + 1)
        return _data_url(data, os.path.basename(path), context.path)
    # Kept a path: the upload opens it, streams it from disk and closes it.
    return Upload(pathlib.Path(path))


def _encode_file(f: Any, context: InputContext) -> Any:
    where = f"input {context.path!r}"
    mode = getattr(f, "mode", None)
    if isinstance(f, io.TextIOBase) or (isinstance(mode, str) and "b" not in mode):
        raise TypeError(f"{where}: the file is open in text mode; open it in binary mode ('rb')")
    if getattr(f, "closed", False):
        raise ValueError(f"{where}: the file is closed")
    readable = getattr(f, "readable", None)
    if callable(readable) and not readable():
        raise TypeError(f"{where}: the file is not open for reading; open it with 'rb'")
    name = getattr(f, "name", None)
    filename = None
    if isinstance(name, (str, bytes)):
        filename = os.path.basename(os.fsdecode(name)) or None
        if filename and filename.startswith("<") and filename.endswith(">"):
            filename = None  # <stdin> and the like
    if context.file_encoding_strategy == "base64":
        start = _tell(f)
        data = f.read(BASE64_LIMIT + 1)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"{where}: read() returned {type(data).__name__}, not bytes")
        if len(data) > BASE64_LIMIT:
            if start is not None:
                f.seek(start)
            size = _remaining(f, start)
            raise _too_large(context.path, size)
        return _data_url(bytes(data), filename, context.path)
    return Upload(f, filename=filename)


def _tell(f: Any) -> int | None:
    try:
        if f.seekable():
            return int(f.tell())
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _remaining(f: Any, start: int | None) -> int | None:
    if start is None:
        return None
    try:
        end = int(f.seek(0, io.SEEK_END))
        f.seek(start)
        return end - start
    except (AttributeError, OSError, ValueError):
        return None


def _too_large(path: str, size: int | None) -> ValueError:
    amount = f"{size} bytes" if size is not None else f"more than {BASE64_LIMIT} bytes"
    return ValueError(
        f"input {path!r}: the file is {amount}, too large to inline as a data: URL with "
        f"file_encoding_strategy='base64' (the limit is {BASE64_LIMIT // 1024} KiB, "
        f"{BASE64_LIMIT} bytes); leave file_encoding_strategy unset to upload it through the "
        "files API instead"
    )


def _data_url(data: bytes, filename: str | None, path: str) -> str:
    if len(data) > BASE64_LIMIT:
        raise _too_large(path, len(data))
    content_type = None
    if filename:
        content_type, _ = mimetypes.guess_type(filename, strict=False)
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:{content_type or DEFAULT_CONTENT_TYPE};base64,{encoded}"
