"""The official v2 SDK's request parameter TypedDicts, under its names.

Each one lists the keyword arguments of one resource method, with the same keys and the same
required keys as in v2, so ``client.predictions.create(**params)`` works for a
``params: PredictionCreateParams``. Value types are the ones our methods take (``str`` where v2
has a ``Literal``); per-call options (``timeout=``, ``extra_headers=``, ...) are not part of them,
as in v2.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypedDict

__all__ = [
    "ClientSearchParams",
    "DeploymentCreateParams",
    "DeploymentPredictionCreateParams",
    "DeploymentUpdateParams",
    "FileCreateParams",
    "FileDownloadParams",
    "ModelCreateParams",
    "ModelListParams",
    "ModelPredictionCreateParams",
    "ModelSearchParams",
    "ModelUpdateParams",
    "PredictionCreateParams",
    "PredictionCreateParamsWithoutVersion",
    "PredictionListParams",
    "TrainingCreateParams",
]

# Optional keys sit in a ``total=False`` base and required ones in the ``total=True`` subclass:
# ``typing.Required`` needs Python 3.11 (or typing_extensions, which is not a dependency).


class _PredictionOptions(TypedDict, total=False):
    stream: bool
    webhook: str
    webhook_events_filter: list[str]
    cancel_after: str | int
    prefer: str


class PredictionCreateParamsWithoutVersion(_PredictionOptions):
    """``predictions.create(...)`` without ``version``."""

    input: Mapping[str, Any]


class PredictionCreateParams(PredictionCreateParamsWithoutVersion):
    """``predictions.create(...)``."""

    version: str


class ModelPredictionCreateParams(_PredictionOptions):
    """``models.predictions.create(...)``: v2's
    ``replicate.types.models.PredictionCreateParams``."""

    model_owner: str
    model_name: str
    input: Mapping[str, Any]


class DeploymentPredictionCreateParams(_PredictionOptions):
    """``deployments.predictions.create(...)``: v2's
    ``replicate.types.deployments.PredictionCreateParams``."""

    deployment_owner: str
    deployment_name: str
    input: Mapping[str, Any]


class PredictionListParams(TypedDict, total=False):
    """``predictions.list(...)``."""

    created_after: str | datetime.datetime
    created_before: str | datetime.datetime


class _ClientSearchOptions(TypedDict, total=False):
    limit: int


class ClientSearchParams(_ClientSearchOptions):
    """``client.search(...)``."""

    query: str


class DeploymentCreateParams(TypedDict):
    """``deployments.create(...)``."""

    hardware: str
    max_instances: int
    min_instances: int
    model: str
    name: str
    version: str


class _DeploymentUpdateOptions(TypedDict, total=False):
    hardware: str
    max_instances: int
    min_instances: int
    version: str


class DeploymentUpdateParams(_DeploymentUpdateOptions):
    """``deployments.update(...)``."""

    deployment_owner: str
    deployment_name: str


class _FileCreateOptions(TypedDict, total=False):
    filename: str | None
    metadata: object
    type: str | None


class FileCreateParams(_FileCreateOptions):
    """``files.create(...)``; ``content`` is anything ``files.create`` takes."""

    content: Any


class FileDownloadParams(TypedDict):
    """``files.download(...)``."""

    file_id: str
    expiry: int
    owner: str
    signature: str


class _ModelCreateOptions(TypedDict, total=False):
    cover_image_url: str
    description: str
    github_url: str
    license_url: str
    paper_url: str


class ModelCreateParams(_ModelCreateOptions):
    """``models.create(...)``."""

    hardware: str
    name: str
    owner: str
    visibility: str


class ModelListParams(TypedDict, total=False):
    """``models.list(...)``."""

    sort_by: str
    sort_direction: str


class ModelSearchParams(TypedDict):
    """``models.search(...)``."""

    body: str


class _ModelUpdateOptions(TypedDict, total=False):
    description: str
    github_url: str
    license_url: str
    paper_url: str
    readme: str
    weights_url: str


class ModelUpdateParams(_ModelUpdateOptions):
    """``models.update(...)``."""

    model_owner: str
    model_name: str


class _TrainingCreateOptions(TypedDict, total=False):
    webhook: str
    webhook_events_filter: list[str]


class TrainingCreateParams(_TrainingCreateOptions):
    """``trainings.create(...)``."""

    model_owner: str
    model_name: str
    version_id: str
    destination: str
    input: Mapping[str, Any]
