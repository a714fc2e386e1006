"""``client.predictions``: create, get, list, cancel and wait for predictions."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from .._sentinels import NOT_GIVEN, NotGiven, given
from ..types import Page, Prediction
from ._base import Resource, call_flow, check_options, path_param

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._drivers import Action
    from .._http import Response
    from .._sse import ServerSentEvent
    from ..pagination import SyncPage
    from ._base import RequestOptions


def create_prediction(
    resource: Resource,
    path: str,
    options: Mapping[str, Any],
    *,
    input: Mapping[str, Any],
    stream: bool | NotGiven,
    webhook: str | NotGiven,
    webhook_events_filter: list[str] | NotGiven,
    cancel_after: str | int | NotGiven,
    prefer: str | NotGiven,
    wait: bool | int | NotGiven,
    file_encoding_strategy: str | None,
    version: str | NotGiven = NOT_GIVEN,
) -> Prediction:
    """The one create call behind predictions, models.predictions and deployments.predictions:
    headers checked, input files encoded in the same flow, then one POST."""
    from .._create import create_headers, prediction_body  # only creates need it

    check_options("create", options)
    return resource._call(  # type: ignore[no-any-return]
        "POST",
        path,
        cast=Prediction,
        options=options,
        body=prediction_body(
            input=input,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
            stream=stream,
            **given(version=version),
        ),
        headers=create_headers(prefer=prefer, wait=wait, cancel_after=cancel_after),
        encode_input=True,
        file_encoding_strategy=file_encoding_strategy,
    )


def _timestamp(name: str, value: object) -> object:
    if isinstance(value, (str, _dt.datetime, NotGiven)):
        return value
    raise TypeError(f"{name} must be a datetime or an ISO 8601 string, not {type(value).__name__}")


class Predictions(Resource):
    """Predictions: ``POST /predictions`` and friends."""

    __slots__ = ()

    def create(
        self,
        *,
        input: Mapping[str, Any],
        version: str,
        stream: bool | NotGiven = NOT_GIVEN,
        webhook: str | NotGiven = NOT_GIVEN,
        webhook_events_filter: list[str] | NotGiven = NOT_GIVEN,
        cancel_after: str | int | NotGiven = NOT_GIVEN,
        prefer: str | NotGiven = NOT_GIVEN,
        wait: bool | int | NotGiven = NOT_GIVEN,
        file_encoding_strategy: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Prediction:
        """Create a prediction of a model version (``version`` is a 64-hex id, ``owner/name``
        or ``owner/name:id``).

        ``wait=True``/``wait=N`` (or ``prefer="wait=N"``) asks for sync mode; the prediction
        comes back as the API answered, complete or not. ``cancel_after`` ("5m", or seconds)
        sets the server-side deadline.
        """
        if not isinstance(version, str) or not version:
            raise ValueError("version must be a non-empty version id or 'owner/name[:id]'")
        return create_prediction(
            self,
            "/predictions",
            options,
            version=version,
            input=input,
            stream=stream,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
            cancel_after=cancel_after,
            prefer=prefer,
            wait=wait,
            file_encoding_strategy=file_encoding_strategy,
        )

    def get(self, prediction_id: str, **options: Unpack[RequestOptions]) -> Prediction:
        check_options("get", options)
        path = f"/predictions/{path_param('prediction_id', prediction_id)}"
        return self._get(path, Prediction, options)  # type: ignore[no-any-return]

    def list(
        self,
        *,
        created_after: str | _dt.datetime | NotGiven = NOT_GIVEN,
        created_before: str | _dt.datetime | NotGiven = NOT_GIVEN,
        source: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[Prediction]:
        """Predictions, newest first, across every page (iterate), or page by page."""
        check_options("list", options)
        params = given(
            created_after=_timestamp("created_after", created_after),
            created_before=_timestamp("created_before", created_before),
            source=source,
        )
        return self._list(  # type: ignore[no-any-return]
            "/predictions", Prediction, params=params, options=options
        )

    def cancel(self, prediction_id: str, **options: Unpack[RequestOptions]) -> Prediction:
        check_options("cancel", options)
        path = f"/predictions/{path_param('prediction_id', prediction_id)}/cancel"
        # Canceling twice is harmless, so this POST may be retried.
        return self._call(  # type: ignore[no-any-return]
            "POST", path, cast=Prediction, options=options, idempotent=True
        )

    def wait(
        self,
        prediction_id: str,
        *,
        poll_interval: float | None = None,
        **options: Unpack[RequestOptions],
    ) -> Prediction:
        """Poll until the prediction reaches a terminal status (succeeded, failed, canceled or
        aborted) and return it. ``poll_interval`` defaults to ``REPLICATE_POLL_INTERVAL`` or 0.5 s.
        """
        check_options("wait", options)
        path = f"/predictions/{path_param('prediction_id', prediction_id)}"
        interval = self._client._core.poll_interval if poll_interval is None else poll_interval
        return self._client._execute(poll_flow(self, path, Prediction, interval, options))  # type: ignore[no-any-return]

    def stream(
        self, prediction_id: str, **options: Unpack[RequestOptions]
    ) -> Generator[ServerSentEvent, None, Any]:
        """Stream an existing prediction's events over Server-Sent Events (``urls.stream``).

        The prediction is fetched now (so a wrong id raises here); its stream is opened when
        iteration starts. Yields ``output``, ``logs`` and any other event as a
        :class:`~replicate.ServerSentEvent` (``str(event)``: an output event's data) until
        ``done``; an ``error`` event raises :class:`~replicate.ModelError`, a canceled prediction
        :class:`~replicate.PredictionCanceledError`. On an async client, ``await`` the call
        (which fetches the prediction), then ``async for`` the events. A dropped connection is
        resumed with ``Last-Event-ID`` (or, failing that, finished by polling) without repeating
        output. A prediction without ``urls.stream`` (its model does not stream) is polled until it
        finishes, its output handed over as ``output`` events as it grows. ``options`` apply to
        every request. Stop early with ``.close()`` on the returned generator (or ``break``).
        """
        from .._stream import stream_events_flow

        check_options("stream", options)
        client = self._client
        path = f"/predictions/{path_param('prediction_id', prediction_id)}"
        request = self._request("GET", path, options=options)
        timeout = options.get("timeout", NOT_GIVEN)

        def events(result: tuple[Response, Prediction]) -> Any:
            return client._iter(stream_events_flow(client._core, result[1], timeout=timeout))

        return client._run(call_flow(self._send(request, options), Prediction, None), events)  # type: ignore[no-any-return]


def poll_flow(
    resource: Resource,
    path: str,
    cast: Any,
    interval: float,
    options: Mapping[str, Any],
) -> Generator[Action, Any, tuple[Response, Any]]:
    """GET ``path`` until the object's status is terminal, sleeping ``interval`` between polls
    (the SDK's one polling loop, ``_poll.poll_flow``, with this resource's request options)."""
    from .._poll import poll_flow as poll

    request = resource._request("GET", path, options=options)

    def fetch() -> Generator[Action, Any, tuple[Response, Any]]:
        response = yield from resource._send(request, options)
        return response, response.parse(cast)

    return (yield from poll(fetch, interval=interval))


__all__ = ["Page", "Predictions"]
