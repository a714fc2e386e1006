"""``client.trainings``: fine-tune a model version into a new version of a destination model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._sentinels import NOT_GIVEN, NotGiven, given
from ..types import Training
from ._base import Resource, check_options, path_param
from .predictions import poll_flow

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..pagination import SyncPage
    from ._base import RequestOptions


def _check_destination(destination: object) -> str:
    if not isinstance(destination, str):
        raise TypeError(
            f"destination must be a string 'owner/name', not {type(destination).__name__}"
        )
    # Only emptiness is checked here: which names exist is the API's to judge, and it answers a
    # bad one with a typed 404 (as the recorded traffic shows), as v1 and v2 users expect.
    if not destination.strip():
        raise ValueError(
            "destination must be the model to push the trained version to, 'owner/name'"
        )
    return destination


class Trainings(Resource):
    """Trainings: ``POST /models/{owner}/{name}/versions/{id}/trainings``, ``/trainings``."""

    __slots__ = ()

    def create(
        self,
        model_owner: str,
        model_name: str,
        version_id: str,
        *,
        destination: str,
        input: Mapping[str, Any],
        webhook: str | NotGiven = NOT_GIVEN,
        webhook_events_filter: list[str] | NotGiven = NOT_GIVEN,
        file_encoding_strategy: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Training:
        """Start training from a version of a trainable model; when it succeeds, the result is
        pushed as a new version of ``destination`` (``"owner/name"``, a model you own).

        Files in ``input`` (paths, open binary files, bytes) are uploaded through the files API,
        or inlined as data: URLs with ``file_encoding_strategy="base64"`` (up to 256 KiB)."""
        check_options("create", options)
        path = (
            f"/models/{path_param('model_owner', model_owner)}"
            f"/{path_param('model_name', model_name)}"
            f"/versions/{path_param('version_id', version_id)}/trainings"
        )
        _check_destination(destination)
        if not isinstance(input, Mapping):
            raise TypeError(
                f"input must be a mapping of input names to values, not {type(input).__name__}"
            )
        body = {
            "destination": destination,
            "input": dict(input),
            **given(webhook=webhook, webhook_events_filter=webhook_events_filter),
        }
        return self._call(  # type: ignore[no-any-return]
            "POST",
            path,
            cast=Training,
            options=options,
            body=body,
            encode_input=True,
            file_encoding_strategy=file_encoding_strategy,
        )

    def get(self, training_id: str, **options: Unpack[RequestOptions]) -> Training:
        """A training's current state: status, logs, and once it has succeeded the new
        version in ``output``."""
        check_options("get", options)
        path = f"/trainings/{path_param('training_id', training_id)}"
        return self._get(path, Training, options)  # type: ignore[no-any-return]

    def list(self, **options: Unpack[RequestOptions]) -> SyncPage[Training]:
        """The token's trainings, newest first, across every page (iterate), or page by page."""
        check_options("list", options)
        return self._list("/trainings", Training, options=options)  # type: ignore[no-any-return]

    def cancel(self, training_id: str, **options: Unpack[RequestOptions]) -> Training:
        """Stop a training that has not finished, and return it."""
        check_options("cancel", options)
        path = f"/trainings/{path_param('training_id', training_id)}/cancel"
        # Canceling twice is harmless, so this POST may be retried.
        return self._call(  # type: ignore[no-any-return]
            "POST", path, cast=Training, options=options, idempotent=True
        )

    def wait(
        self,
        training_id: str,
        *,
        poll_interval: float | None = None,
        **options: Unpack[RequestOptions],
    ) -> Training:
        """Poll until the training reaches a terminal status (succeeded, failed, canceled or
        aborted) and return it; it does not raise on failure, so check ``status``.
        ``poll_interval`` defaults to ``REPLICATE_POLL_INTERVAL`` or 0.5 s. Not in v2."""
        check_options("wait", options)
        path = f"/trainings/{path_param('training_id', training_id)}"
        interval = self._client._core.poll_interval if poll_interval is None else poll_interval
        return self._client._execute(poll_flow(self, path, Training, interval, options))  # type: ignore[no-any-return]


__all__ = ["Trainings"]
