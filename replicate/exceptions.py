"""The exception hierarchy, with the official v2 SDK's names.

Kept free of heavy imports: ``import replicate`` loads this module, so it may not pull in msgspec,
urllib3 or typing.

::

    ReplicateError
    ├── APIError
    │   ├── APIStatusError (status_code, response, title, detail, status)
    │   │   ├── BadRequestError            400
    │   │   ├── AuthenticationError        401
    │   │   ├── PermissionDeniedError      403
    │   │   ├── NotFoundError              404
    │   │   ├── ConflictError              409
    │   │   ├── UnprocessableEntityError   422
    │   │   ├── RateLimitError             429
    │   │   └── InternalServerError        5xx
    │   ├── APIConnectionError (request_sent)
    │   │   └── APITimeoutError
    │   ├── APIResponseValidationError
    │   └── BodyNotReplayableError (response)
    ├── ModelError (prediction)
    │   ├── PredictionCanceledError
    │   └── PredictionAbortedError
    ├── PredictionTimeoutError
    ├── PredictionUncertainError (index)
    ├── ResponseNotRead
    ├── InputValidationError (errors; also a ValueError)
    ├── MissingTokenError
    └── PluginError
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._http import Request, Response

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BodyNotReplayableError",
    "ConflictError",
    "InputValidationError",
    "InternalServerError",
    "MissingTokenError",
    "ModelError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "PredictionAbortedError",
    "PredictionCanceledError",
    "PredictionTimeoutError",
    "PredictionUncertainError",
    "RateLimitError",
    "ReplicateError",
    "ResponseNotRead",
    "UnprocessableEntityError",
]


class ReplicateError(Exception):
    """Base class of every error this SDK raises on purpose."""


class MissingTokenError(ReplicateError):
    """A request needed an API token and none was configured."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "No Replicate API token: set the REPLICATE_API_TOKEN environment variable "
            "or pass bearer_token=... to replicate.Replicate(), or install an auth plugin."
        )


class PluginError(ReplicateError):
    """A plugin could not be loaded or two plugins competed for one choice."""


class APIError(ReplicateError):
    """An error that came from talking to the API (or failing to)."""

    message: str
    request: Request | None
    body: object | None

    def __init__(
        self, message: str, request: Request | None = None, *, body: object | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body


class APIStatusError(APIError):
    """The API answered with a non-2xx status.

    ``title``, ``detail`` and ``status`` are the problem+json fields when the body had them.
    """

    response: Response
    status_code: int
    title: str | None
    detail: str | None
    status: int | None

    def __init__(
        self,
        message: str,
        *,
        response: Response,
        body: object | None = None,
        title: str | None = None,
        detail: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.title = title
        self.detail = detail
        self.status = status

    def __reduce__(self) -> Any:
        # The response (and its request) may hold a socket; pickle the message and fields only.
        return (
            _rebuild_status_error,
            (
                type(self),
                self.message,
                self.status_code,
                self.title,
                self.detail,
                self.status,
                self.body,
            ),
        )


class BadRequestError(APIStatusError):
    """HTTP 400."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the token is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403."""


class NotFoundError(APIStatusError):
    """HTTP 404."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422: the request was understood but its content is invalid."""


class RateLimitError(APIStatusError):
    """HTTP 429: too many requests."""


class InternalServerError(APIStatusError):
    """HTTP 5xx."""


class APIConnectionError(APIError):
    """The request could not be completed at the network level.

    ``request_sent`` tells retry logic whether the server may have seen the request: False means
    it surely did not (connection refused, DNS failure, connect timeout, TLS handshake), so even a
    request that creates something can be sent again.
    """

    request_sent: bool

    def __init__(
        self,
        message: str = "Connection error.",
        *,
        request: Request | None = None,
        request_sent: bool = True,
    ) -> None:
        super().__init__(message, request)
        self.request_sent = request_sent

    def __reduce__(self) -> Any:
        return (_rebuild_connection_error, (type(self), self.message, self.request_sent))


class APITimeoutError(APIConnectionError):
    """A connect or read timeout of one HTTP request."""

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        request: Request | None = None,
        request_sent: bool = True,
    ) -> None:
        super().__init__(message, request=request, request_sent=request_sent)


class APIResponseValidationError(APIError):
    """A 2xx response whose body does not decode into the expected type."""

    response: Response
    status_code: int

    def __init__(self, message: str, *, response: Response, body: object | None = None) -> None:
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code

    def __reduce__(self) -> Any:
        # Like APIStatusError: keep the type and fields, drop the response (and its request).
        return (
            _rebuild_validation_error,
            (type(self), self.message, self.status_code, self.body),
        )


class BodyNotReplayableError(APIError):
    """A request had to be sent again (redirected, or refused with a 401 that its auth
    provider refreshed) but its body can be read only once (a one-shot iterator, a file that
    cannot seek) or could not be put back at its start (a file closed meanwhile).

    The request is not sent again. ``response`` is the answer that asked for the resend (None
    after a network error). Bytes, a seekable file or a re-iterable body can be sent again.
    """

    response: Response | None

    def __init__(
        self, message: str, request: Request | None = None, *, response: Response | None = None
    ) -> None:
        super().__init__(message, request)
        self.response = response

    def __reduce__(self) -> Any:
        # Like APIStatusError: the request and the response stay behind.
        return (type(self), (self.message,))


class ModelError(ReplicateError):
    """The prediction ended without succeeding; ``prediction`` holds its final state."""

    prediction: Any

    def __init__(self, prediction: Any, message: str | None = None) -> None:
        self.prediction = prediction
        if message is None:
            error = getattr(prediction, "error", None)
            pid = getattr(prediction, "id", None)
            message = f"Prediction {pid} failed: {error}" if pid else str(error)
        super().__init__(message)

    def __reduce__(self) -> Any:
        return (type(self), (self.prediction, str(self)))


class PredictionCanceledError(ModelError):
    """The prediction was canceled (by a user, or by ``Cancel-After`` while it was running)."""


class PredictionAbortedError(ModelError):
    """The prediction's ``Cancel-After`` deadline passed before it started."""


class PredictionTimeoutError(ReplicateError):
    """The caller's deadline for a whole run passed. A prediction created by then is canceled
    on the way out; the message says whether the cancel succeeded.

    Deliberately not an :class:`APITimeoutError`: code that retries network timeouts must not
    start the prediction again.
    """

    prediction_id: str | None

    def __init__(self, message: str, *, prediction_id: str | None = None) -> None:
        super().__init__(message)
        self.prediction_id = prediction_id


class PredictionUncertainError(ReplicateError):
    """A batch's create for one input was sent but its answer never came (the batch was
    interrupted, or the connection broke, while it was in flight): the prediction may exist,
    with an id nobody knows. ``replicate.batch`` reports such an input with status
    ``"uncertain"`` and never sends its create again, so that it cannot run twice.
    """

    index: int

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(message)
        self.index = index

    def __reduce__(self) -> Any:
        return (_rebuild_uncertain, (str(self), self.index))


def _rebuild_uncertain(message: str, index: int) -> PredictionUncertainError:
    return PredictionUncertainError(message, index=index)


class ResponseNotRead(ReplicateError):
    """The body of a streamed response (``stream=True``) was asked for (``content``, ``text``,
    ``json()``, ``parse()``) before it was read: call ``read()`` (``await aread()`` for an
    async stream) first, or iterate it with ``iter_bytes()`` (``aiter_bytes()``).

    httpx's name for the same mistake. Reading is never done behind the caller's back, so
    that no code can wait on the network by accident.
    """

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "the body of this streamed response has not been read: call .read() first "
            "(await .aread() for an async stream)"
        )


def _rebuild_status_error(
    cls: type[APIStatusError],
    message: str,
    status_code: int,
    title: str | None,
    detail: str | None,
    status: int | None,
    body: object | None,
) -> APIStatusError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.message = message
    err.request = None
    err.response = None  # type: ignore[assignment]  # the socket-backed response stays behind
    err.body = body
    err.status_code = status_code
    err.title = title
    err.detail = detail
    err.status = status
    return err


def _rebuild_validation_error(
    cls: type[APIResponseValidationError], message: str, status_code: int, body: object | None
) -> APIResponseValidationError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.message = message
    err.request = None
    err.body = body
    err.status_code = status_code
    return err


def _rebuild_connection_error(
    cls: type[APIConnectionError], message: str, request_sent: bool
) -> APIConnectionError:
    return cls(message, request_sent=request_sent)


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP status (v2's mapping; other 4xx are plain APIStatusError)."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


class InputValidationError(ReplicateError, ValueError):
    """The input does not fit the version's schema; ``errors`` lists each problem found.

    Raised by ``run``/``use`` before any request is sent. Also a ``ValueError``, so code that
    catches bad arguments that way keeps working."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        if len(errors) == 1:
            message = errors[0]
        else:
            message = "the input does not fit the model's schema:\n" + "\n".join(
                f"  - {e}" for e in errors
            )
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))
