"""Every API object but predictions (see :mod:`replicate.types`), and the v2 SDK's names for them:
built on the first use of one of them, which a first ``predictions.get`` never makes."""

import datetime
from typing import Any, TypeAlias

import msgspec

from ._base import PredictionStatus, ReplicateObject, _aware
from ._prediction import Prediction

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
