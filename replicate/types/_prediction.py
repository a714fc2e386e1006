"""Predictions (see :mod:`replicate.types`): the objects a first ``predictions.get`` needs, kept
apart from the other objects so that a new process builds only these."""

import datetime
from typing import Any

from ._base import ReplicateObject, _aware


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
