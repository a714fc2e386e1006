"""A plugin-based, transport-agnostic Python SDK for Replicate's HTTP API.

``import replicate`` only defines names: the client, the transport, plugins, msgspec and pluggy
load on first use, so importing stays cheap.
"""

from __future__ import annotations

from . import exceptions
from ._version import __version__
from .exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    MissingTokenError,
    ModelError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    PredictionAbortedError,
    PredictionCanceledError,
    PredictionTimeoutError,
    RateLimitError,
    ReplicateError,
    UnprocessableEntityError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._auth import AuthProvider, TokenAuth
    from ._client import Client, Replicate
    from ._config import ClientConfig
    from ._default import default_client
    from ._events import Event
    from ._http import Headers, Request, Response, SyncByteStream, SyncTransport, Timeout
    from ._retry import DefaultRetryPolicy, RetryPolicy
    from .hookspecs import hookimpl

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthProvider",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ClientConfig",
    "ConflictError",
    "DefaultRetryPolicy",
    "Event",
    "Headers",
    "InternalServerError",
    "MissingTokenError",
    "ModelError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "PredictionAbortedError",
    "PredictionCanceledError",
    "PredictionTimeoutError",
    "RateLimitError",
    "Replicate",
    "ReplicateError",
    "Request",
    "Response",
    "RetryPolicy",
    "SyncByteStream",
    "SyncTransport",
    "Timeout",
    "TokenAuth",
    "UnprocessableEntityError",
    "__version__",
    "default_client",
    "exceptions",
    "hookimpl",
]

# name -> (module, attribute); None as attribute means the module itself.
_LAZY: dict[str, tuple[str, str | None]] = {
    "Replicate": ("._client", "Replicate"),
    "Client": ("._client", "Client"),
    "ClientConfig": ("._config", "ClientConfig"),
    "Timeout": ("._http", "Timeout"),
    "Request": ("._http", "Request"),
    "Response": ("._http", "Response"),
    "Headers": ("._http", "Headers"),
    "SyncTransport": ("._http", "SyncTransport"),
    "SyncByteStream": ("._http", "SyncByteStream"),
    "Event": ("._events", "Event"),
    "AuthProvider": ("._auth", "AuthProvider"),
    "TokenAuth": ("._auth", "TokenAuth"),
    "RetryPolicy": ("._retry", "RetryPolicy"),
    "DefaultRetryPolicy": ("._retry", "DefaultRetryPolicy"),
    "hookimpl": (".hookspecs", "hookimpl"),
    "default_client": ("._default", "default_client"),
    "hookspecs": (".hookspecs", None),
    "transports": (".transports", None),
}


def __getattr__(name: str) -> object:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'replicate' has no attribute {name!r}") from None
    import importlib

    module = importlib.import_module(module_name, __name__)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
