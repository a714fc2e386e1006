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

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import msgspec

if TYPE_CHECKING:
    from typing import TypeAlias

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

_T = TypeVar("_T")
_ObjT = TypeVar("_ObjT", bound="ReplicateObject")

_UTC: Final = datetime.timezone.utc


# --------------------------------------------------------------------------------------------
# Status values
# --------------------------------------------------------------------------------------------


class PredictionStatus:
    """The status values the API documents for predictions and trainings.

    ``status`` fields are plain ``str``: compare against these constants, and expect values not
    listed here to appear.
    """

    STARTING: Final = "starting"
    PROCESSING: Final = "processing"
    SUCCEEDED: Final = "succeeded"
    FAILED: Final = "failed"
    CANCELED: Final = "canceled"
    ABORTED: Final = "aborted"


TERMINAL_STATUSES: Final[frozenset[str]] = frozenset(
    {
        PredictionStatus.SUCCEEDED,
        PredictionStatus.FAILED,
        PredictionStatus.CANCELED,
        PredictionStatus.ABORTED,
    }
)


def is_terminal(status: str | None) -> bool:
    """Whether a prediction or training with this status has finished and will not change."""
    return status in TERMINAL_STATUSES


# --------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------


def _aware(value: datetime.datetime | None) -> datetime.datetime | None:
    """Attach UTC to a naive timestamp; the API's timestamps are all UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value


# Not frozen, on purpose: the client refreshes a Prediction or Training in place while polling
# (as v1's ``reload()`` did), and users may tweak an object before passing it on. The cost is
# that instances are unhashable. ``msgspec.structs.replace(obj, field=...)`` makes a changed copy.
class ReplicateObject(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    repr_omit_defaults=True,
):
    """Base class of every API object.

    Fields set to their default (``None``) are left out of :meth:`to_dict`, :meth:`to_json` and
    the repr, much as v2 leaves out fields the response did not set.
    """

    def to_dict(self) -> dict[str, Any]:
        """This object as plain JSON-compatible Python values.

        Timestamps become RFC 3339 strings and nested objects become dicts. Fields that are
        ``None`` are left out.
        """
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result

    def to_json(self, *, indent: int | None = 2) -> str:
        """This object as a JSON ``str`` (like v2's ``to_json``), indented by ``indent`` spaces.

        ``indent=None`` gives the compact form. Fields that are ``None`` are left out.
        """
        data = msgspec.json.encode(self)
        if indent is not None:
            data = msgspec.json.format(data, indent=indent)
        return data.decode("utf-8")

    @classmethod
    def from_dict(cls: type[_ObjT], data: Any) -> _ObjT:
        """Build an object from decoded JSON (e.g. a webhook payload parsed elsewhere).

        Uses the same lenient rules as :func:`decoder_for`.
        """
        return msgspec.convert(data, cls, strict=False)

    @classmethod
    def from_json(cls: type[_ObjT], data: bytes | str) -> _ObjT:
        """Decode an object from a JSON document, with :func:`decoder_for`."""
        return decoder_for(cls).decode(data)


# --------------------------------------------------------------------------------------------
# Accounts and hardware
# --------------------------------------------------------------------------------------------


class Account(ReplicateObject):
    """A user or organization: ``GET /account``, and a deployment release's ``created_by``."""

    username: str
    type: str | None = None
    """``"user"`` or ``"organization"``."""
    name: str | None = None
    avatar_url: str | None = None
    github_url: str | None = None


class Hardware(ReplicateObject):
    """An item of ``GET /hardware`` (which returns a bare JSON array, not a page)."""

    name: str | None = None
    sku: str | None = None
    """The identifier to pass as ``hardware`` when creating models or deployments."""


class WebhookSecret(ReplicateObject):
    """``GET /webhooks/default/secret``."""

    key: str | None = None
    """The signing secret for webhooks, ``whsec_...``."""


# --------------------------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------------------------


class PredictionURLs(ReplicateObject):
    """``Prediction.urls``."""

    get: str | None = None
    cancel: str | None = None
    web: str | None = None
    """Not present in responses recorded before mid-2024."""
    stream: str | None = None
    """Server-sent events URL; present when the model supports streaming."""


class PredictionMetrics(ReplicateObject):
    """``Prediction.metrics``.

    The spec declares only ``total_time`` (and allows more keys). The fields here are every metric
    seen in the documentation and recorded traffic; a metric not listed is dropped on decode. Add
    it here, or read the raw JSON, if you need it.
    """

    predict_time: float | None = None
    """Seconds the model spent running, excluding queueing and setup."""
    total_time: float | None = None
    """Seconds from creation to completion."""
    input_token_count: int | float | None = None
    output_token_count: int | float | None = None
    tokens_per_second: float | None = None
    time_to_first_token: float | None = None
    predict_time_share: float | None = None
    batch_size: int | float | None = None
    image_count: int | float | None = None


class Prediction(ReplicateObject):
    """A prediction: ``POST /predictions``, ``GET /predictions/{id}``, webhooks, ..."""

    id: str
    model: str | None = None
    """``owner/name`` of the model."""
    version: str | None = None
    """The version ID, or ``"hidden"`` (official models and some deployments)."""
    input: dict[str, Any] | None = None
    output: Any = None
    logs: str | None = None
    error: str | None = None
    status: str | None = None
    """One of :class:`PredictionStatus`'s values, or a newer one."""
    source: str | None = None
    """``"web"`` or ``"api"``."""
    data_removed: bool | None = None
    created_at: datetime.datetime | None = None
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    deadline: datetime.datetime | None = None
    """When the prediction will be canceled automatically (``Cancel-After``)."""
    deployment: str | None = None
    """``owner/name`` of the deployment that ran it, if any."""
    metrics: PredictionMetrics | None = None
    urls: PredictionURLs | None = None

    def __post_init__(self) -> None:
        # Runs for every prediction decoded (pages of 100): the common case, timestamps that
        # carry their zone or are absent, costs attribute reads and no call.
        c, s, d, e = self.created_at, self.started_at, self.completed_at, self.deadline
        if (
            (c is not None and c.tzinfo is None)
            or (s is not None and s.tzinfo is None)
            or (d is not None and d.tzinfo is None)
            or (e is not None and e.tzinfo is None)
        ):
            self.created_at = _aware(c)
            self.started_at = _aware(s)
            self.completed_at = _aware(d)
            self.deadline = _aware(e)


class ExamplePrediction(Prediction):
    """``Model.default_example``: a :class:`Prediction` whose ``id`` may be missing.

    The spec declares ``default_example`` as any object (or null), so a partial one (even
    ``{}``) decodes: ``id`` is then ``""`` and the other fields ``None``.
    """

    id: str = ""


# --------------------------------------------------------------------------------------------
# Models, versions and collections
# --------------------------------------------------------------------------------------------


class Version(ReplicateObject):
    """A model version: ``GET /models/{owner}/{name}/versions/{id}`` and the versions list."""

    id: str
    """The version ID."""
    created_at: datetime.datetime | None = None
    cog_version: str | None = None
    openapi_schema: dict[str, Any] | None = None
    """The version's OpenAPI schema; its ``components.schemas.Input``/``Output`` describe I/O."""

    def __post_init__(self) -> None:
        self.created_at = _aware(self.created_at)


class LatestVersion(Version):
    """``Model.latest_version``: a :class:`Version` whose ``id`` may be missing.

    The spec declares ``latest_version`` as any object (or null), so a partial one (even ``{}``)
    decodes: ``id`` is then ``""`` and the other fields ``None``.
    """

    id: str = ""


# Not keyword-only, unlike the other Structs: ``Model("owner", "name")`` builds a reference to
# pass to ``run()``, as v2's top-level ``replicate.Model(owner, name)`` does.
class Model(ReplicateObject, kw_only=False):
    """A model: ``GET /models/{owner}/{name}``, list, create, update and search results."""

    owner: str | None = None
    name: str | None = None
    description: str | None = None
    visibility: str | None = None
    """``"public"`` or ``"private"``."""
    url: str | None = None
    github_url: str | None = None
    paper_url: str | None = None
    license_url: str | None = None
    weights_url: str | None = None
    """Not in the spec's response schema (only in ``PATCH``'s body); seen in recorded responses."""
    cover_image_url: str | None = None
    run_count: int | None = None
    is_official: bool | None = None
    created_at: datetime.datetime | None = None
    """Not in the spec; seen in recorded responses."""
    default_example: ExamplePrediction | None = None
    """Any object in the spec; decoded as a Prediction whose fields may all be missing."""
    latest_version: LatestVersion | None = None
    """Any object in the spec; decoded as a Version whose fields may all be missing."""

    def __post_init__(self) -> None:
        self.created_at = _aware(self.created_at)


class Collection(ReplicateObject):
    """A collection: ``GET /collections/{slug}``; list items have no ``models``."""

    slug: str
    name: str | None = None
    description: str | None = None
    full_description: str | None = None
    """Markdown; only on ``GET /collections/{slug}``."""
    models: list[Model] | None = None
    """Only on ``GET /collections/{slug}``."""


# --------------------------------------------------------------------------------------------
# Trainings
# --------------------------------------------------------------------------------------------


class TrainingOutput(ReplicateObject):
    """``Training.output`` once a training has succeeded."""

    version: str | None = None
    """The new version, ``owner/name:version_id``."""
    weights: str | None = None
    """URL of the trained weights."""


class TrainingMetrics(ReplicateObject):
    """``Training.metrics`` (may be ``{}`` while running)."""

    predict_time: float | None = None
    total_time: float | None = None


class TrainingURLs(ReplicateObject):
    """``Training.urls``."""

    get: str | None = None
    cancel: str | None = None
    web: str | None = None
    """Shown in the spec's examples but not its schema."""


class Training(ReplicateObject):
    """A training: ``POST /models/{owner}/{name}/versions/{id}/trainings``, ``GET /trainings/{id}``,
    ``GET /trainings`` and ``POST /trainings/{id}/cancel``.
    """

    id: str
    model: str | None = None
    version: str | None = None
    input: dict[str, Any] | None = None
    output: TrainingOutput | None = None
    logs: str | None = None
    error: str | None = None
    status: str | None = None
    """One of :class:`PredictionStatus`'s values, or a newer one."""
    source: str | None = None
    """``"web"`` or ``"api"``."""
    created_at: datetime.datetime | None = None
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    metrics: TrainingMetrics | None = None
    urls: TrainingURLs | None = None

    def __post_init__(self) -> None:
        self.created_at = _aware(self.created_at)
        self.started_at = _aware(self.started_at)
        self.completed_at = _aware(self.completed_at)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


class FileChecksums(ReplicateObject):
    """``File.checksums`` (the spec declares ``sha256``; the API also sends ``md5``)."""

    sha256: str | None = None
    md5: str | None = None


class FileURLs(ReplicateObject):
    """``File.urls``."""

    get: str | None = None


class File(ReplicateObject):
    """An uploaded file: ``POST /files``, ``GET /files/{id}``, ``GET /files``."""

    id: str
    name: str | None = None
    """The uploaded file name. Not in the spec; seen in recorded responses."""
    content_type: str | None = None
    size: int | None = None
    etag: str | None = None
    """Not in the spec; seen in recorded responses."""
    checksums: FileChecksums | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    expires_at: datetime.datetime | None = None
    urls: FileURLs | None = None

    def __post_init__(self) -> None:
        self.created_at = _aware(self.created_at)
        self.expires_at = _aware(self.expires_at)


# --------------------------------------------------------------------------------------------
# Deployments
# --------------------------------------------------------------------------------------------


class DeploymentConfiguration(ReplicateObject):
    """``DeploymentRelease.configuration``."""

    hardware: str | None = None
    """A hardware SKU, see :class:`Hardware`."""
    min_instances: int | None = None
    max_instances: int | None = None


class DeploymentRelease(ReplicateObject):
    """``Deployment.current_release``."""

    number: int | None = None
    model: str | None = None
    """``owner/name`` of the model."""
    version: str | None = None
    created_at: datetime.datetime | None = None
    created_by: Account | None = None
    configuration: DeploymentConfiguration | None = None

    def __post_init__(self) -> None:
        self.created_at = _aware(self.created_at)


class Deployment(ReplicateObject):
    """A deployment: ``GET /deployments/{owner}/{name}``, list, create and update."""

    owner: str | None = None
    name: str | None = None
    current_release: DeploymentRelease | None = None


# --------------------------------------------------------------------------------------------
# Search and pages
# --------------------------------------------------------------------------------------------


class SearchModelMetadata(ReplicateObject):
    """``SearchModel.metadata``."""

    generated_description: str | None = None
    score: float | None = None
    tags: list[str] | None = None


class SearchModel(ReplicateObject):
    """An item of ``SearchResponse.models``."""

    model: Model | None = None
    metadata: SearchModelMetadata | None = None


class SearchCollection(ReplicateObject):
    """An item of ``SearchResponse.collections``; ``models`` are ``owner/name`` strings."""

    slug: str
    name: str | None = None
    description: str | None = None
    models: list[str] | None = None


class SearchPage(ReplicateObject):
    """An item of ``SearchResponse.pages``: a documentation page."""

    name: str | None = None
    href: str | None = None
    """A path on replicate.com, e.g. ``/docs/guides/...``."""


class SearchResponse(ReplicateObject):
    """``GET /search`` (beta)."""

    query: str | None = None
    models: list[SearchModel] = msgspec.field(default_factory=list)
    collections: list[SearchCollection] = msgspec.field(default_factory=list)
    pages: list[SearchPage] = msgspec.field(default_factory=list)


class Page(ReplicateObject, Generic[_T]):
    """A page of a cursor-paginated list: ``Page[Model]``, ``Page[Prediction]``, ...

    ``next`` and ``previous`` are full URLs (or ``None`` at either end).
    """

    next: str | None = None
    previous: str | None = None
    results: list[_T] = msgspec.field(default_factory=list)


# --------------------------------------------------------------------------------------------
# v2 SDK names
# --------------------------------------------------------------------------------------------

# v2's ``*ListResponse`` names are the type of one item in the list (the page holds them).
ModelGetResponse = Model
ModelCreateResponse = Model
ModelUpdateResponse = Model
ModelListResponse = Model
ModelSearchResponse = Model
VersionGetResponse = Version
VersionListResponse = Version
TrainingGetResponse = Training
TrainingCreateResponse = Training
TrainingListResponse = Training
TrainingCancelResponse = Training
FileGetResponse = File
FileCreateResponse = File
FileListResponse = File
DeploymentGetResponse = Deployment
DeploymentCreateResponse = Deployment
DeploymentUpdateResponse = Deployment
DeploymentListResponse = Deployment
CollectionGetResponse = Collection
CollectionListResponse = Collection
HardwareListResponseItem = Hardware
HardwareListResponse: TypeAlias = list[Hardware]
"""v2's ``List[HardwareListResponseItem]``: ``GET /hardware`` returns a bare array."""
AccountGetResponse = Account
SecretGetResponse = WebhookSecret


class BatchResult:
    """One input's outcome in ``replicate.batch(...)``, yielded as soon as it is known.

    ``index`` is the input's position in the batch and ``input`` the input itself;
    ``prediction`` its final state (None when no prediction is known: the create failed, or
    its answer never came); ``output`` the decoded output of a prediction that succeeded;
    ``error`` what went wrong otherwise (a :class:`~replicate.ModelError` for a prediction
    that failed, was canceled or aborted; the SDK's error for a create or a wait that failed;
    :class:`~replicate.PredictionUncertainError` when the create's answer never came).
    ``status`` is the prediction's terminal status (``"succeeded"``, ``"failed"``,
    ``"canceled"``, ``"aborted"``), ``"error"`` (the SDK gave up on it) or ``"uncertain"``.

    Plain data: it pickles (an error that cannot is kept as its type name and message).
    """

    __slots__ = ("error", "index", "input", "output", "prediction", "status")

    def __init__(
        self,
        index: int,
        input: dict[str, Any],
        prediction: Prediction | None = None,
        output: Any = None,
        error: BaseException | None = None,
        status: str = "succeeded",
    ) -> None:
        self.index = index
        self.input = input
        self.prediction = prediction
        self.output = output
        self.error = error
        self.status = status

    @property
    def ok(self) -> bool:
        """Whether the prediction succeeded (its output is in ``output``)."""
        return self.status == PredictionStatus.SUCCEEDED and self.error is None

    @property
    def id(self) -> str | None:
        """The prediction's id, if one is known."""
        return self.prediction.id if self.prediction is not None else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BatchResult):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__ if n != "error")

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        error = f", error={type(self.error).__name__}" if self.error is not None else ""
        return f"BatchResult(index={self.index}, status={self.status!r}, id={self.id!r}{error})"

    def __reduce__(self) -> tuple[Any, ...]:
        import pickle

        error = self.error
        if error is not None:
            try:
                pickle.dumps(error)
            except Exception:
                error = Exception(f"{type(error).__name__}: {error}")
        return (
            BatchResult,
            (self.index, self.input, self.prediction, self.output, error, self.status),
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
        if name in _PARAMS:
            from . import _params

            value = getattr(_params, name)
            globals()[name] = value
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(globals()) | _PARAMS)


# --------------------------------------------------------------------------------------------
# Decoders
# --------------------------------------------------------------------------------------------

_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder_for(tp: type[_T]) -> msgspec.json.Decoder[_T]:
    """A cached JSON decoder for ``tp`` (a Struct here, ``Page[Model]``, ``list[Hardware]``, ...).

    Decoders are lenient (``strict=False``): a number sent as a string, or an integral float for an
    ``int`` field, is converted rather than rejected. Two threads racing may each build a decoder;
    that is harmless.
    """
    try:
        return _DECODERS[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable type expression: build without caching
        return msgspec.json.Decoder(tp, strict=False)
    decoder = msgspec.json.Decoder(tp, strict=False)
    _DECODERS[tp] = decoder
    return decoder
