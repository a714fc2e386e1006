"""How a resource call's result comes out of its response: the body decoded as the call's
``cast``, now or (a ``with_streaming_response`` call) once the body has been read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._decode import decode_into
from ._http import Response


def decode_as(response: Response, cast: Any) -> Any:
    """The response body as ``cast``: None (no body), str (text), bytes, any msgspec type, or
    :class:`~replicate.Response` for the response itself, untouched (still unread when sent
    with ``stream=True``). A streamed body must have been read already: this reads nothing
    (:class:`~replicate.ResponseNotRead` otherwise)."""
    if cast is None or cast is type(None):
        return None
    if cast is Response:
        return response
    if cast is str:
        return response.text
    if cast is bytes:
        return response.content
    return decode_into(response, cast)


class Deferred:
    """How a call's object is decoded from a body that is not read yet (a
    ``with_streaming_response`` call), once :class:`APIResponse` has read it: ``cast`` as
    :func:`decode_as` takes it, then ``wrap``."""

    __slots__ = ("cast", "wrap")

    def __init__(self, cast: Any, wrap: Callable[[Any], Any] | None = None) -> None:
        self.cast = cast
        self.wrap = wrap

    def __call__(self, response: Response) -> Any:
        value = decode_as(response, self.cast)
        return value if self.wrap is None else self.wrap(value)
