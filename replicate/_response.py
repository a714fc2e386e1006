"""``with_raw_response``: the HTTP response and the parsed object together, one class for all."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ._http import Response

T = TypeVar("T")


class APIResponse(Generic[T]):
    """What a ``with_raw_response`` call returns (v2's name and methods).

    ``parse()`` gives the object the method normally returns; everything else describes the
    HTTP exchange (``status_code``, ``headers`` such as ``ratelimit-remaining``, the body).
    """

    __slots__ = ("_parsed", "http_response")

    def __init__(self, http_response: Response, parsed: T) -> None:
        self.http_response = http_response
        self._parsed = parsed

    def parse(self) -> T:
        return self._parsed

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self.http_response.headers

    @property
    def url(self) -> str | None:
        request = self.http_response.request
        return None if request is None else request.url

    @property
    def method(self) -> str | None:
        request = self.http_response.request
        return None if request is None else request.method

    def read(self) -> bytes:
        return self.http_response.content

    def text(self) -> str:
        return self.http_response.text

    def json(self) -> Any:
        return self.http_response.json()

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self.http_response.iter_bytes(chunk_size)

    def close(self) -> None:
        self.http_response.close()

    def __repr__(self) -> str:
        return f"<APIResponse [{self.status_code}] {type(self._parsed).__name__}>"


class BinaryAPIResponse(APIResponse[bytes]):
    """A response whose body is bytes not read yet: what ``files.download(...)`` returns (v2's
    name and methods).

    Read it whole (``read()``), in chunks (``iter_bytes()``), or straight into a file
    (``write_to_file(path)``); close it, or use it as a context manager, if you stop early.
    """

    __slots__ = ()

    def __init__(self, http_response: Response) -> None:
        self.http_response = http_response

    def parse(self) -> bytes:
        """The whole body (read on first use)."""
        return self.http_response.content

    def write_to_file(self, file: str | os.PathLike[str]) -> None:
        """Stream the body into ``file`` atomically.

        The bytes go to a temporary file in the same directory, which replaces ``file`` only
        once the whole body has arrived: a broken connection or a short body raises and leaves
        ``file`` as it was (absent, or its previous contents), never half-written.
        """
        self.stream_to_file(file)

    def stream_to_file(
        self, file: str | os.PathLike[str], *, chunk_size: int | None = None
    ) -> None:
        """Like :meth:`write_to_file`, reading the body in ``chunk_size`` pieces."""
        write_atomically(file, self.iter_bytes(chunk_size))

    def __enter__(self) -> BinaryAPIResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<BinaryAPIResponse [{self.status_code}]>"


def write_atomically(file: str | os.PathLike[str], chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to a temporary sibling of ``file``, then rename it over ``file``.

    The temporary file is removed if anything fails (including reading ``chunks``), and created
    with the usual permissions (subject to the umask), not mkstemp's owner-only ones.
    """
    import secrets

    target = os.path.abspath(os.fsdecode(os.fspath(file)))
    directory, name = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.part")
        try:
            fd = os.open(temp, flags, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise FileExistsError(f"could not create a temporary file next to {target!r}")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
