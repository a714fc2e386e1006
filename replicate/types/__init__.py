"""Typed response objects for Replicate's HTTP API, as :mod:`msgspec` Structs.

Every object the API returns has a Struct here, and the official v2 SDK's response type names
(``ModelGetResponse``, ``FileListResponse``, ...) are aliases of them, so code that names those
types keeps working.

Decoding rules, shared by every Struct:

* Unknown fields are ignored, so a field the API adds tomorrow never breaks decoding.
* Every field has a default (``None``) except a few identifiers the API always sends
  (``Prediction.id``, ``Training.id``, ``File.id``, ``Version.id``, ``Account.username``,
  ``Collection.slug``, ``SearchCollection.slug``).
* Where the spec leaves an object open ("any object or null": ``Model.default_example`` and
  ``Model.latest_version``), a partial object still decodes: those fields are an
  :class:`ExamplePrediction` (a :class:`Prediction` whose ``id`` defaults to ``""``) and a
  :class:`LatestVersion` (a :class:`Version` whose ``id`` defaults to ``""``), so ``{}`` gives
  an object with every field at its default, and a model, a model list or a collection holding
  one decodes as usual.
* Enumerations (``status``, ``source``, ``visibility``, account ``type``, ...) are plain ``str``,
  never ``Literal``/``Enum``: a value the API adds later (e.g. status ``"aborted"``) still decodes.
  :class:`PredictionStatus` holds the known values as constants.
* Timestamps are timezone-aware :class:`datetime.datetime`. The API sends RFC 3339 strings in UTC
  with ``Z`` and 0 to 9 fractional digits; msgspec parses them all (rounding to microseconds). A
  timestamp without an offset is taken to be UTC.
* Free-form JSON (``input``, ``output``, ``openapi_schema``, ``metadata``) decodes to plain Python
  values; there is no ``msgspec.Raw`` anywhere, so a Struct never pins the response buffer.

Use :func:`decoder_for` to decode a response body::

    prediction = decoder_for(Prediction).decode(body)
    page = decoder_for(Page[Model]).decode(body)
    hardware = decoder_for(HardwareListResponse).decode(body)

The v2 SDK's request parameter TypedDicts (``PredictionCreateParams``, ...) are here too (built
on first use), and v2's submodules (``replicate.types.models``, ``replicate.types.prediction``,
...) re-export these names under v2's spellings. This package imports nothing else from
``replicate``.
"""

from typing import TYPE_CHECKING, Any, Final

from ._base import (
    TERMINAL_STATUSES,
    Page,
    PredictionStatus,
    ReplicateObject,
    decoder_for,
    is_terminal,
)
from ._prediction import Prediction, PredictionMetrics, PredictionURLs

if TYPE_CHECKING:
    from ._objects import (
        Account,
        AccountGetResponse,
        BatchResult,
        Collection,
        CollectionGetResponse,
        CollectionListResponse,
        Deployment,
        DeploymentConfiguration,
        DeploymentCreateResponse,
        DeploymentGetResponse,
        DeploymentListResponse,
        DeploymentRelease,
        DeploymentUpdateResponse,
        ExamplePrediction,
        File,
        FileChecksums,
        FileCreateResponse,
        FileGetResponse,
        FileListResponse,
        FileURLs,
        Hardware,
        HardwareListResponse,
        HardwareListResponseItem,
        LatestVersion,
        Model,
        ModelCreateResponse,
        ModelGetResponse,
        ModelListResponse,
        ModelSearchResponse,
        ModelUpdateResponse,
        SearchCollection,
        SearchModel,
        SearchModelMetadata,
        SearchPage,
        SearchResponse,
        SecretGetResponse,
        Training,
        TrainingCancelResponse,
        TrainingCreateResponse,
        TrainingGetResponse,
        TrainingListResponse,
        TrainingMetrics,
        TrainingOutput,
        TrainingURLs,
        Version,
        VersionGetResponse,
        VersionListResponse,
        WebhookSecret,
    )
    from ._params import (
        ClientSearchParams,
        DeploymentCreateParams,
        DeploymentUpdateParams,
        FileCreateParams,
        FileDownloadParams,
        ModelCreateParams,
        ModelListParams,
        ModelSearchParams,
        ModelUpdateParams,
        PredictionCreateParams,
        PredictionCreateParamsWithoutVersion,
        PredictionListParams,
        TrainingCreateParams,
    )


__all__ = [
    "TERMINAL_STATUSES",
    "Account",
    "AccountGetResponse",
    "BatchResult",
    "ClientSearchParams",
    "Collection",
    "CollectionGetResponse",
    "CollectionListResponse",
    "Deployment",
    "DeploymentConfiguration",
    "DeploymentCreateParams",
    "DeploymentCreateResponse",
    "DeploymentGetResponse",
    "DeploymentListResponse",
    "DeploymentRelease",
    "DeploymentUpdateParams",
    "DeploymentUpdateResponse",
    "ExamplePrediction",
    "File",
    "FileChecksums",
    "FileCreateParams",
    "FileCreateResponse",
    "FileDownloadParams",
    "FileGetResponse",
    "FileListResponse",
    "FileURLs",
    "Hardware",
    "HardwareListResponse",
    "HardwareListResponseItem",
    "LatestVersion",
    "Model",
    "ModelCreateParams",
    "ModelCreateResponse",
    "ModelGetResponse",
    "ModelListParams",
    "ModelListResponse",
    "ModelSearchParams",
    "ModelSearchResponse",
    "ModelUpdateParams",
    "ModelUpdateResponse",
    "Page",
    "Prediction",
    "PredictionCreateParams",
    "PredictionCreateParamsWithoutVersion",
    "PredictionListParams",
    "PredictionMetrics",
    "PredictionStatus",
    "PredictionURLs",
    "ReplicateObject",
    "SearchCollection",
    "SearchModel",
    "SearchModelMetadata",
    "SearchPage",
    "SearchResponse",
    "SecretGetResponse",
    "Training",
    "TrainingCancelResponse",
    "TrainingCreateParams",
    "TrainingCreateResponse",
    "TrainingGetResponse",
    "TrainingListResponse",
    "TrainingMetrics",
    "TrainingOutput",
    "TrainingURLs",
    "Version",
    "VersionGetResponse",
    "VersionListResponse",
    "WebhookSecret",
    "decoder_for",
    "is_terminal",
]


# The other objects load on first use: a first ``predictions.get`` needs only the base, the page
# and the prediction, and building the other Structs would cost its process about a millisecond.
_OBJECTS: Final = frozenset(
    {
        "Account",
        "AccountGetResponse",
        "BatchResult",
        "Collection",
        "CollectionGetResponse",
        "CollectionListResponse",
        "Deployment",
        "DeploymentConfiguration",
        "DeploymentCreateResponse",
        "DeploymentGetResponse",
        "DeploymentListResponse",
        "DeploymentRelease",
        "DeploymentUpdateResponse",
        "ExamplePrediction",
        "File",
        "FileChecksums",
        "FileCreateResponse",
        "FileGetResponse",
        "FileListResponse",
        "FileURLs",
        "Hardware",
        "HardwareListResponse",
        "HardwareListResponseItem",
        "LatestVersion",
        "Model",
        "ModelCreateResponse",
        "ModelGetResponse",
        "ModelListResponse",
        "ModelSearchResponse",
        "ModelUpdateResponse",
        "SearchCollection",
        "SearchModel",
        "SearchModelMetadata",
        "SearchPage",
        "SearchResponse",
        "SecretGetResponse",
        "Training",
        "TrainingCancelResponse",
        "TrainingCreateResponse",
        "TrainingGetResponse",
        "TrainingListResponse",
        "TrainingMetrics",
        "TrainingOutput",
        "TrainingURLs",
        "Version",
        "VersionGetResponse",
        "VersionListResponse",
        "WebhookSecret",
    }
)

# v2's request parameter TypedDicts load on first use: building them costs about as much as
# the rest of this module, and a client never needs them.
_PARAMS: Final = frozenset(
    {
        "ClientSearchParams",
        "DeploymentCreateParams",
        "DeploymentUpdateParams",
        "FileCreateParams",
        "FileDownloadParams",
        "ModelCreateParams",
        "ModelListParams",
        "ModelSearchParams",
        "ModelUpdateParams",
        "PredictionCreateParams",
        "PredictionCreateParamsWithoutVersion",
        "PredictionListParams",
        "TrainingCreateParams",
    }
)


if not TYPE_CHECKING:  # hidden from type checkers, which would take any attribute as valid

    def __getattr__(name: str) -> Any:
        if name in _OBJECTS:
            from . import _objects

            value = getattr(_objects, name)
            globals()[name] = value
            return value
        if name in _PARAMS:
            from . import _params

            value = getattr(_params, name)
            globals()[name] = value
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(globals()) | _OBJECTS | _PARAMS)
