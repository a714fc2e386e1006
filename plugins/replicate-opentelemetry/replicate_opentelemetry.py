"""OpenTelemetry traces and metrics for the Replicate SDK, from its observe hook.

Installed, this plugin instruments every client through OpenTelemetry's global tracer and
meter providers (set them up as usual; until then the API's no-op proxies are used). For one
client only, or with providers of your own, pass an instance instead, and keep the installed
one from loading too (``REPLICATE_PLUGINS`` lists the plugins to load)::

    client = replicate.Replicate(plugins=[OpenTelemetryObserver(tracer_provider=provider)])

What is recorded (see README.md):

- a CLIENT span per HTTP attempt (retries and redirects each get their own), named after the
  method, with OpenTelemetry's HTTP client attributes: ``http.request.method``, ``url.full``
  (no user info, sensitive query values replaced by ``REDACTED``), ``url.scheme``,
  ``server.address``, ``server.port``, ``http.response.status_code``,
  ``network.protocol.version``, ``http.request.resend_count`` (on retries) and ``error.type``
  (the status code from 400 on, or the exception's class name), plus ``replicate.client.id``.
  It starts as the attempt is sent and ends with the response, or with the end of a streamed
  body (downloads, event streams), or with the error;
- an INTERNAL span ``replicate.run`` per ``run()``, ``use()`` call or ``stream()``: the
  prediction's id, model (or deployment, version), final status and the run's duration;
- the metrics ``http.client.request.duration`` (histogram, seconds),
  ``replicate.client.requests`` (counter of attempts) and ``replicate.run.duration``
  (histogram, seconds).

No header, token, request or response body, input or output value is ever recorded, and no
exception message either (only the exception's class): messages can quote what a model said.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

import replicate

# opentelemetry is imported where it is used, not here: every installed plugin is loaded when the
# first client is built, and this one has nothing to record until its first event.

__all__ = ["OpenTelemetryObserver", "redact_url"]
__version__ = "0.1.0"

_SCOPE = "replicate_opentelemetry"
#: The methods OpenTelemetry's HTTP conventions know; any other is recorded as ``_OTHER``.
_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY"}
)
#: The buckets OpenTelemetry's HTTP conventions advise for ``http.client.request.duration``.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_RUN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
#: Query parameters whose values are never recorded (matched as parts of the name).
_SENSITIVE_QUERY = (
    "token",
    "secret",
    "signature",
    "sig",
    "key",
    "credential",
    "password",
    "auth",
    "session",
)
#: At most this many attempts are open at once per observer (a streamed body that its caller
#: never reads nor closes never ends); beyond it the oldest is ended, ``error.type`` "abandoned".
MAX_OPEN = 4096


def redact_url(url: str) -> str:
    """``url`` as ``url.full`` may hold it: user info replaced by ``REDACTED:REDACTED``, the
    values of sensitive query parameters (token, signature, key...) by ``REDACTED``, no
    fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "REDACTED"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "REDACTED:REDACTED@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            name, eq, _ = pair.partition("=")
            lowered = name.lower()
            if eq and any(word in lowered for word in _SENSITIVE_QUERY):
                pair = f"{name}=REDACTED"
            pairs.append(pair)
        query = "&".join(pairs)
    out = f"{parts.scheme}://{netloc}{parts.path}"
    return f"{out}?{query}" if query else out


def _histogram(meter: Any, name: str, unit: str, description: str, buckets: tuple[float, ...]):
    try:  # the advisory buckets came with opentelemetry-api 1.23
        return meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
        )
    except TypeError:
        return meter.create_histogram(name, unit=unit, description=description)


class _Attempt:
    __slots__ = ("attrs", "metric_attrs", "request", "span")

    def __init__(self, request: Any, span: Any, attrs: dict[str, Any], metric: dict[str, Any]):
        self.request = request  # kept so that its id() is not reused while the attempt is open
        self.span = span
        self.attrs = attrs
        self.metric_attrs = metric


class OpenTelemetryObserver:
    """The plugin as an object: ``Replicate(plugins=[OpenTelemetryObserver()])``.

    ``tracer_provider`` / ``meter_provider`` default to OpenTelemetry's global ones. Safe to
    share between clients and threads.
    """

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from opentelemetry import metrics, trace

        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
        self._duration = _histogram(
            meter,
            "http.client.request.duration",
            "s",
            "Duration of HTTP client requests.",
            _DURATION_BUCKETS,
        )
        self._requests = meter.create_counter(
            "replicate.client.requests",
            unit="{request}",
            description="HTTP requests sent by the Replicate client, each attempt counted.",
        )
        self._run_duration = _histogram(
            meter,
            "replicate.run.duration",
            "s",
            "Duration of Replicate runs (run(), use() calls, stream()), from the create on.",
            _RUN_BUCKETS,
        )
        self._open: OrderedDict[int, _Attempt] = OrderedDict()
        self._lock = threading.Lock()

    @replicate.hookimpl
    def replicate_observe(self, event: replicate.Event) -> None:
        kind = event.kind
        if kind == "request":
            self._start(event)
        elif kind == "response":
            response = event.response
            self._status(event)
            if response is None or response.is_stream_consumed:
                self._finish(event)
        elif kind == "response_end":
            self._finish(event, error=event.error if event.data == "error" else None)
        elif kind == "error":
            self._finish(event, error=event.error)
        elif kind == "run":
            self._run(event)

    # --- HTTP attempts ------------------------------------------------------------------------

    def _start(self, event: replicate.Event) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        request = event.request
        if request is None:
            return
        method = request.method
        known = method if method in _KNOWN_METHODS else "_OTHER"
        try:
            url = urlsplit(request.url)
            host, port, scheme = url.hostname or "", url.port, url.scheme
        except ValueError:
            host, port, scheme = "", None, ""
        if port is None:
            port = 443 if scheme == "https" else 80
        metric: dict[str, Any] = {
            "http.request.method": known,
            "server.address": host,
            "server.port": port,
            "url.scheme": scheme,
        }
        attrs: dict[str, Any] = dict(metric)
        attrs["url.full"] = redact_url(request.url)
        if known == "_OTHER":
            attrs["http.request.method_original"] = method
        if event.attempt:
            attrs["http.request.resend_count"] = event.attempt
        if event.client is not None:
            attrs["replicate.client.id"] = event.client
        span = self._tracer.start_span(
            "HTTP" if known == "_OTHER" else known, kind=SpanKind.CLIENT, attributes=attrs
        )
        stale: list[_Attempt] = []
        with self._lock:
            self._open[id(request)] = _Attempt(request, span, attrs, metric)
            while len(self._open) > MAX_OPEN:
                stale.append(self._open.popitem(last=False)[1])
        for attempt in stale:
            attempt.span.set_attribute("error.type", "abandoned")
            attempt.span.set_status(Status(StatusCode.ERROR, "abandoned"))
            attempt.span.end()

    def _status(self, event: replicate.Event) -> None:
        response = event.response
        if response is None or event.request is None:
            return
        with self._lock:
            attempt = self._open.get(id(event.request))
        if attempt is None:
            return
        status = response.status_code
        version = (response.http_version or "").upper().removeprefix("HTTP/")
        for attrs in (attempt.attrs, attempt.metric_attrs):
            attrs["http.response.status_code"] = status
            if version:
                attrs["network.protocol.version"] = version
        attempt.span.set_attribute("http.response.status_code", status)
        if version:
            attempt.span.set_attribute("network.protocol.version", version)

    def _finish(self, event: replicate.Event, *, error: BaseException | None = None) -> None:
        from opentelemetry.trace import Status, StatusCode

        request = event.request
        if request is None:
            return
        with self._lock:
            attempt = self._open.pop(id(request), None)
        if attempt is None or attempt.request is not request:
            return
        span, metric = attempt.span, attempt.metric_attrs
        status = metric.get("http.response.status_code")
        error_type: str | None = None
        if error is not None:
            error_type = type(error).__qualname__
        elif isinstance(status, int) and status >= 400:
            error_type = str(status)
        if error_type is not None:
            metric["error.type"] = error_type
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, error_type))
        span.end()
        duration = event.duration
        if duration is not None:
            self._duration.record(duration, metric)
        self._requests.add(1, metric)

    # --- runs ---------------------------------------------------------------------------------

    def _run(self, event: replicate.Event) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        info = event.data
        duration = event.duration or 0.0
        attrs: dict[str, Any] = {}
        metric: dict[str, Any] = {}
        for name, value in (
            ("replicate.model", getattr(info, "model", None)),
            ("replicate.deployment", getattr(info, "deployment", None)),
        ):
            if value:
                attrs[name] = metric[name] = str(value)
        version = getattr(info, "version", None)
        if version:
            attrs["replicate.version"] = str(version)
        pid = getattr(info, "id", None)
        if pid:
            attrs["replicate.prediction.id"] = str(pid)
        status = getattr(info, "status", None)
        if status:
            attrs["replicate.prediction.status"] = metric["replicate.prediction.status"] = str(
                status
            )
        prediction = getattr(info, "prediction", None)
        predict_time = getattr(getattr(prediction, "metrics", None), "predict_time", None)
        if isinstance(predict_time, (int, float)):
            attrs["replicate.prediction.predict_time"] = float(predict_time)
        attrs["replicate.run.duration"] = duration
        if event.client is not None:
            attrs["replicate.client.id"] = event.client
        error = event.error
        if error is not None:
            attrs["error.type"] = metric["error.type"] = type(error).__qualname__
        end = time.time_ns()
        span = self._tracer.start_span(
            "replicate.run",
            kind=SpanKind.INTERNAL,
            attributes=attrs,
            start_time=end - int(duration * 1e9),
        )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
        span.end(end_time=end)
        self._run_duration.record(duration, metric)


_default: OpenTelemetryObserver | None = None
_default_lock = threading.Lock()


def _observer() -> OpenTelemetryObserver:
    global _default
    observer = _default
    if observer is None:
        with _default_lock:
            if _default is None:
                _default = OpenTelemetryObserver()
            observer = _default
    return observer


@replicate.hookimpl
def replicate_observe(event: replicate.Event) -> None:
    """The installed plugin: every client's events, on the global providers."""
    _observer().replicate_observe(event)
