"""A plugin-based, transport-agnostic Python SDK for Replicate's HTTP API.

``import replicate`` only defines names: the client, the transport, plugins, msgspec and pluggy
load on first use, so importing stays cheap.
"""

from __future__ import annotations

from . import _fallback, exceptions
from ._version import __title__, __version__
from .exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BodyNotReplayableError,
    ConflictError,
    InputValidationError,
    InternalServerError,
    MissingTokenError,
    ModelError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    PredictionAbortedError,
    PredictionCanceledError,
    PredictionTimeoutError,
    PredictionUncertainError,
    RateLimitError,
    ReplicateError,
    ResponseNotRead,
    UnprocessableEntityError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from . import resources, types, webhooks
    from ._async_client import AsyncClient, AsyncReplicate
    from ._auth import AuthProvider, TokenAuth
    from ._client import Client, Replicate
    from ._compat import NoneType, file_from_path
    from ._config import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, ClientConfig
    from ._default import (
        async_run,
        async_stream,
        batch,
        default_async_client,
        default_client,
        run,
        stream,
        use,
    )
    from ._events import Event
    from ._files import AsyncFileOutput, FileOutput, get_path_url
    from ._http import (
        AsyncByteStream,
        AsyncTransport,
        Headers,
        Request,
        Response,
        SyncByteStream,
        SyncTransport,
        Timeout,
        connection_error,
    )
    from ._reference import ModelVersionIdentifier
    from ._report import plugins_report
    from ._response import APIResponse, AsyncAPIResponse, BinaryAPIResponse
    from ._retry import DefaultRetryPolicy, RetryPolicy
    from ._sentinels import NOT_GIVEN, NotGiven, Omit, not_given, omit
    from ._sse import EventType, ServerSentEvent
    from .hookspecs import hookimpl
    from .pagination import AsyncPage, SyncPage
    from .resources.account import AccountResource
    from .resources.collections import Collections
    from .resources.deployments import Deployments
    from .resources.files import Files
    from .resources.hardware import HardwareResource
    from .resources.models import Models
    from .resources.predictions import Predictions
    from .resources.trainings import Trainings
    from .types import BatchResult, Model, Version
    from .types import ReplicateObject as BaseModel
    from .webhooks import WebhookVerificationError

    # The default client's resources, looked up on each access (see __getattr__).
    predictions: Predictions
    models: Models
    deployments: Deployments
    trainings: Trainings
    files: Files
    collections: Collections
    hardware: HardwareResource
    account: AccountResource

    # v2's module-level settings of the default client (read on its next use).
    bearer_token: str | None
    base_url: str | None
    timeout: float | Timeout | None
    max_retries: int
    default_headers: Mapping[str, str] | None
    default_query: Mapping[str, object] | None

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncAPIResponse",
    "AsyncByteStream",
    "AsyncClient",
    "AsyncFileOutput",
    "AsyncPage",
    "AsyncReplicate",
    "AsyncTransport",
    "AuthProvider",
    "AuthenticationError",
    "BadRequestError",
    "BaseModel",
    "BatchResult",
    "BinaryAPIResponse",
    "BodyNotReplayableError",
    "Client",
    "ClientConfig",
    "ConflictError",
    "DefaultRetryPolicy",
    "Event",
    "EventType",
    "FileOutput",
    "Headers",
    "InputValidationError",
    "InternalServerError",
    "MissingTokenError",
    "Model",
    "ModelError",
    "ModelVersionIdentifier",
    "NoneType",
    "NotFoundError",
    "NotGiven",
    "Omit",
    "PermissionDeniedError",
    "PluginError",
    "PredictionAbortedError",
    "PredictionCanceledError",
    "PredictionTimeoutError",
    "PredictionUncertainError",
    "RateLimitError",
    "Replicate",
    "ReplicateError",
    "Request",
    "Response",
    "ResponseNotRead",
    "RetryPolicy",
    "ServerSentEvent",
    "SyncByteStream",
    "SyncPage",
    "SyncTransport",
    "Timeout",
    "TokenAuth",
    "UnprocessableEntityError",
    "Version",
    "WebhookVerificationError",
    "__title__",
    "__version__",
    "async_run",
    "async_stream",
    "batch",
    "connection_error",
    "default_async_client",
    "default_client",
    "exceptions",
    "file_from_path",
    "get_path_url",
    "hookimpl",
    "not_given",
    "omit",
    "plugins_report",
    "resources",
    "run",
    "stream",
    "types",
    "use",
    "webhooks",
]

# name -> (module, attribute); None as attribute means the module itself.
_LAZY: dict[str, tuple[str, str | None]] = {
    "Replicate": ("._client", "Replicate"),
    "Client": ("._client", "Client"),
    "AsyncReplicate": ("._async_client", "AsyncReplicate"),
    "AsyncClient": ("._async_client", "AsyncClient"),
    "ClientConfig": ("._config", "ClientConfig"),
    "Timeout": ("._http", "Timeout"),
    "Request": ("._http", "Request"),
    "Response": ("._http", "Response"),
    "Headers": ("._http", "Headers"),
    "SyncTransport": ("._http", "SyncTransport"),
    "SyncByteStream": ("._http", "SyncByteStream"),
    "AsyncTransport": ("._http", "AsyncTransport"),
    "AsyncByteStream": ("._http", "AsyncByteStream"),
    "connection_error": ("._http", "connection_error"),
    "Event": ("._events", "Event"),
    "plugins_report": ("._report", "plugins_report"),
    "FileOutput": ("._files", "FileOutput"),
    "AsyncFileOutput": ("._files", "AsyncFileOutput"),
    "get_path_url": ("._files", "get_path_url"),
    "AuthProvider": ("._auth", "AuthProvider"),
    "TokenAuth": ("._auth", "TokenAuth"),
    "RetryPolicy": ("._retry", "RetryPolicy"),
    "DefaultRetryPolicy": ("._retry", "DefaultRetryPolicy"),
    "ServerSentEvent": ("._sse", "ServerSentEvent"),
    "EventType": ("._sse", "EventType"),
    "hookimpl": (".hookspecs", "hookimpl"),
    "default_client": ("._default", "default_client"),
    "default_async_client": ("._default", "default_async_client"),
    "async_run": ("._default", "async_run"),
    "async_stream": ("._default", "async_stream"),
    "run": ("._default", "run"),
    "batch": ("._default", "batch"),
    "BatchResult": (".types", "BatchResult"),
    "stream": ("._default", "stream"),
    "use": ("._default", "use"),
    "types": (".types", None),
    "hookspecs": (".hookspecs", None),
    "transports": (".transports", None),
    "webhooks": (".webhooks", None),
    "WebhookVerificationError": (".webhooks", "WebhookVerificationError"),
    "NOT_GIVEN": ("._sentinels", "NOT_GIVEN"),
    "NotGiven": ("._sentinels", "NotGiven"),
    "not_given": ("._sentinels", "not_given"),
    "Omit": ("._sentinels", "Omit"),
    "omit": ("._sentinels", "omit"),
    "APIResponse": ("._response", "APIResponse"),
    "AsyncAPIResponse": ("._response", "AsyncAPIResponse"),
    "BinaryAPIResponse": ("._response", "BinaryAPIResponse"),
    "SyncPage": (".pagination", "SyncPage"),
    "AsyncPage": (".pagination", "AsyncPage"),
    "resources": (".resources", None),
    # v2's top-level names that live elsewhere here.
    "BaseModel": (".types", "ReplicateObject"),
    "Model": (".types", "Model"),
    "Version": (".types", "Version"),
    "ModelVersionIdentifier": ("._reference", "ModelVersionIdentifier"),
    "DEFAULT_TIMEOUT": ("._config", "DEFAULT_TIMEOUT"),
    "DEFAULT_MAX_RETRIES": ("._config", "DEFAULT_MAX_RETRIES"),
    "NoneType": ("._compat", "NoneType"),
    "file_from_path": ("._compat", "file_from_path"),
}

# The default client's resources (``replicate.predictions.create(...)``, as in v2). Resolved on
# every access and never stored here, so ``replicate._default.set_default_client()`` takes
# effect at once; the client is built (from the environment) on first use, not at import.
_CLIENT_RESOURCES = frozenset(
    {
        "predictions",
        "models",
        "deployments",
        "trainings",
        "files",
        "collections",
        "hardware",
        "account",
    }
)


# v2's module-level settings, as they read until assigned (``replicate.bearer_token = ...``);
# once assigned they are plain module globals, which the default client reads (``_default``).
_SETTING_DEFAULTS: dict[str, object] = {
    "bearer_token": None,
    "base_url": None,
    "max_retries": 2,
    "default_headers": None,
    "default_query": None,
}


def _default_client() -> Replicate:
    from ._default import default_client

    return default_client()


def _default_async_client() -> AsyncReplicate:
    from ._default import default_async_client

    return default_async_client()


# The lower layers (FileOutput, use(), webhooks.default) reach the default clients through
# ``_fallback``, so that none of them imports ``_default``; the face, above them all, provides it.
_fallback.install(_default_client, _default_async_client)


def __getattr__(name: str) -> object:
    if name in _CLIENT_RESOURCES:
        from ._default import default_client

        return getattr(default_client(), name)
    if name in _SETTING_DEFAULTS:
        return _SETTING_DEFAULTS[name]
    if name == "timeout":
        from ._config import DEFAULT_TIMEOUT

        return DEFAULT_TIMEOUT
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'replicate' has no attribute {name!r}") from None
    from ._importing import import_paused

    module = import_paused(module_name, __name__)  # the client's import: no GC passes
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _CLIENT_RESOURCES)
