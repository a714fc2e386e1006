"""``with_raw_response``: the HTTP response and the parsed object together, one class for all."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
