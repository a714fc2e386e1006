"""Routes of predictions and trainings: create (three ways), get, list, cancel, stream.

Creates honour ``Prefer: wait[=N]`` (hold the request until the prediction finishes or N
seconds pass, then answer with ``Preference-Applied``: 201 with the final output, or 202 with
the prediction still running) and ``Cancel-After`` (a deadline
from creation: ``aborted`` if the prediction has not started by then, else ``canceled``).
"""

from __future__ import annotations

import re
from typing import Any

from .pages import paginate
from .runner import Run, new_id
from .sse import stream_response
from .wire import EmuRequest, EmuResponse, HTTPError, Router, json_response

__all__ = ["parse_cancel_after", "parse_prefer", "routes"]

routes = Router()

_PREFER = re.compile(r"^wait(?:=([1-9]|[1-9][0-9]))?$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
_EVENTS = ("start", "output", "logs", "completed")
_JSON = [("Content-Type", "application/json")]


def parse_prefer(value: str | None) -> int | None:
    """Seconds to wait from a ``Prefer`` header (``wait`` is 60); None without ``wait``."""
    if value is None:
        return None
    for part in value.split(","):
        part = part.strip().replace(" ", "")
        if not part.startswith("wait"):
            continue
        match = _PREFER.match(part)
        seconds = int(match.group(1)) if match and match.group(1) else 60
        if match is None or not 1 <= seconds <= 60:
            raise HTTPError(
                400, f"Invalid Prefer header {value!r}: use 'wait' or 'wait=N' with N from 1 to 60"
            )
        return seconds
    return None


def parse_cancel_after(value: str | None, minimum: float) -> float | None:
    """Seconds from a ``Cancel-After`` header: ``30``, ``5s``, ``1m30s``, ``1h``, ``500ms``."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        pos, seconds = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            number, unit = float(match.group(1)), match.group(2)
            seconds += number * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
            pos = match.end()
        if pos != len(text) or pos == 0:
            raise HTTPError(
                400, f"Invalid Cancel-After header {value!r}: use a duration like 30s, 5m, 1h30m"
            ) from None
    if seconds < minimum:
        raise HTTPError(400, f"Cancel-After must be at least {minimum:g}s, not {value!r}")
    return seconds


def _body(req: EmuRequest) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise HTTPError(422, "- (root): Invalid type. Expected: object")
    return body


def _webhook(body: dict[str, Any]) -> tuple[str | None, list[str] | None]:
    url = body.get("webhook")
    if url is not None and (not isinstance(url, str) or not re.match(r"^https?://", url)):
        raise HTTPError(422, "- webhook: must be an HTTP or HTTPS URL")
    events = body.get("webhook_events_filter")
    if events is not None and (
        not isinstance(events, list) or any(e not in _EVENTS for e in events)
    ):
        raise HTTPError(
            422, "- webhook_events_filter: items must be one of start, output, logs, completed"
        )
    return url, events


def _urls(origin: str, kind: str, id: str) -> dict[str, str]:
    """A prediction's URLs. Every prediction has a stream, as the API's do today: a model
    whose output is no iterator sends its whole output as one ``output`` event at the end."""
    base = f"{origin}/v1/{kind}s/{id}"
    urls = {"get": base, "cancel": f"{base}/cancel"}
    if kind == "prediction":
        urls["web"] = f"https://replicate.com/p/{id}"
        urls["stream"] = f"{base}/stream"
    return urls


def _create(
    emu: Any, req: EmuRequest, version: Any, body: dict[str, Any], deployment: str | None = None
) -> EmuResponse:
    wait = parse_prefer(req.headers.get("prefer"))
    cancel_after = parse_cancel_after(req.headers.get("cancel-after"), emu.min_cancel_after)
    if "input" not in body:
        raise HTTPError(422, "- (root): input is required")
    predictor = version.predictor
    inputs = predictor.validate(body["input"], check_url=emu.blobs.check_url)
    url, events = _webhook(body)
    pid = new_id()
    now = emu.clock()
    doc: dict[str, Any] = {
        "id": pid,
        "model": version.ref,
        "version": version.id,
        "input": body["input"] if body["input"] is not None else {},
        "logs": "",
        "output": None,
        "data_removed": False,
        "error": None,
        "status": "starting",
        "source": "api",
        "created_at": emu.now_iso(now),
        "urls": _urls(req.origin, "prediction", pid),
    }
    if deployment is not None:
        doc["deployment"] = deployment
    if cancel_after is not None:
        doc["deadline"] = emu.now_iso(now + cancel_after)
    if url is not None:
        doc["webhook"] = url
    if events is not None:
        doc["webhook_events_filter"] = events
    run = emu.runner.start(
        "prediction", doc, predictor, inputs, req.origin, cancel_after=cancel_after
    )
    headers: list[tuple[str, str]] = [*_JSON, ("Location", doc["urls"]["get"])]
    if wait is not None:
        finished = emu.runner.wait(run, wait)
        value = req.headers["prefer"].strip()
        headers.append(("Preference-Applied", value if value == "wait" else f"wait={wait}"))
        # As the API answers: 201 with the final output, 202 when the window ran out first.
        return EmuResponse(201 if finished else 202, headers, run.body)
    return EmuResponse(201, headers, run.initial)


def _resolve_version(emu: Any, ref: object) -> Any:
    if not isinstance(ref, str) or not ref:
        raise HTTPError(422, "- version: version is required")
    name, _, vid = ref.partition(":")
    if _VERSION_ID.match(ref):
        vid, name = ref, ""
    if vid:
        version = emu.catalog.version(vid)
        if version is None or (name and version.ref != name):
            raise HTTPError(
                422,
                "- version: The specified version does not exist (or perhaps you don't have "
                "permission to use it?)",
            )
        return version
    owner, _, model = name.partition("/")
    if not owner or not model or "/" in model:
        raise HTTPError(422, f"- version: invalid version {ref!r}")
    return emu.catalog.resolve_model(owner, model)


@routes.route("POST", "/v1/predictions")
def create_prediction(emu: Any, req: EmuRequest) -> EmuResponse:
    body = _body(req)
    return _create(emu, req, _resolve_version(emu, body.get("version")), body)


@routes.route("POST", "/v1/models/{owner}/{name}/predictions")
def create_model_prediction(emu: Any, req: EmuRequest, owner: str, name: str) -> EmuResponse:
    body = _body(req)
    return _create(emu, req, emu.catalog.resolve_model(owner, name), body)


@routes.route("POST", "/v1/deployments/{owner}/{name}/predictions")
def create_deployment_prediction(emu: Any, req: EmuRequest, owner: str, name: str) -> EmuResponse:
    body = _body(req)
    version = emu.catalog.resolve_deployment(owner, name)
    return _create(emu, req, version, body, deployment=f"{owner}/{name}")


def _answer(emu: Any, run: Run | None, doc: dict[str, Any], req: EmuRequest) -> EmuResponse:
    """A document as stored, its URLs moved to the request's origin when it differs."""
    if run is not None:
        if run.origin == req.origin:
            return EmuResponse(200, _JSON, run.body)
        with emu.runner.cond:  # a live document changes under the runner's lock
            return _rebased(run.doc, req)
    return _rebased(doc, req)


def _rebased(doc: dict[str, Any], req: EmuRequest) -> EmuResponse:
    urls = doc.get("urls")
    if isinstance(urls, dict):
        get = str(urls.get("get", ""))
        old = get.split("/v1/", 1)[0]
        if old != req.origin:
            doc = {**doc, "urls": {k: _rebase(v, old, req.origin) for k, v in urls.items()}}
    return json_response(200, doc)


def _rebase(url: Any, old: str, new: str) -> Any:
    return new + url[len(old) :] if isinstance(url, str) and url.startswith(old + "/v1/") else url


def _lookup(emu: Any, kind: str, id: str) -> tuple[Run | None, dict[str, Any]]:
    run = emu.runner.get(id)
    if run is not None and run.kind == kind:
        return run, run.doc
    doc = emu.state.get(kind, id)
    if doc is None:
        raise HTTPError(404, "Not found.")
    return None, doc


@routes.route("GET", "/v1/predictions/{id}")
def get_prediction(emu: Any, req: EmuRequest, id: str) -> EmuResponse:
    run = emu.runner._runs.get(id)  # the hot path: one dict lookup, cached bytes
    if run is not None and run.kind == "prediction" and run.origin == req.origin:
        return EmuResponse(200, _JSON, run.body)
    run, doc = _lookup(emu, "prediction", id)
    return _answer(emu, run, doc, req)


def _list(emu: Any, req: EmuRequest, kind: str) -> Any:
    docs = emu.state.list(kind)
    after = req.param("created_after")
    before = req.param("created_before")
    if after or before:
        docs = [
            d
            for d in docs
            if (not after or d["created_at"] > after) and (not before or d["created_at"] < before)
        ]
    with emu.runner.cond:  # live documents change under the runner's lock
        return json_response(200, paginate(req, docs))


@routes.route("GET", "/v1/predictions")
def list_predictions(emu: Any, req: EmuRequest) -> Any:
    return _list(emu, req, "prediction")


@routes.route("POST", "/v1/predictions/{id}/cancel")
def cancel_prediction(emu: Any, req: EmuRequest, id: str) -> EmuResponse:
    run, doc = _lookup(emu, "prediction", id)
    if run is not None:
        emu.runner.cancel(run)
    return _answer(emu, run, run.doc if run is not None else doc, req)


@routes.route("GET", "/v1/predictions/{id}/stream")
def stream_prediction(emu: Any, req: EmuRequest, id: str) -> EmuResponse:
    run, doc = _lookup(emu, "prediction", id)
    return stream_response(emu, doc, run, req.headers.get("last-event-id"))


# -- trainings ------------------------------------------------------------------------------


@routes.route("POST", "/v1/models/{owner}/{name}/versions/{version_id}/trainings")
def create_training(
    emu: Any, req: EmuRequest, owner: str, name: str, version_id: str
) -> EmuResponse:
    version = emu.catalog.model_version(owner, name, version_id)
    body = _body(req)
    destination = body.get("destination")
    if not isinstance(destination, str):
        raise HTTPError(422, "- destination: destination is required")
    dest_owner, sep, dest_name = destination.partition("/")
    if (
        not sep
        or not dest_owner
        or not dest_name
        or "/" in dest_name
        or not emu.catalog.has_model(dest_owner, dest_name)
    ):
        raise HTTPError(404, "The specified training destination does not exist")
    url, events = _webhook(body)
    inputs = body.get("input")
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise HTTPError(422, "- input: Invalid type. Expected: object")
    tid = new_id()
    doc: dict[str, Any] = {
        "id": tid,
        "model": version.ref,
        "version": version.id,
        "input": inputs,
        "logs": "",
        "output": None,
        "error": None,
        "status": "starting",
        "source": "api",
        "created_at": emu.now_iso(),
        "urls": _urls(req.origin, "training", tid),
    }
    if url is not None:
        doc["webhook"] = url
    if events is not None:
        doc["webhook_events_filter"] = events
    run = emu.runner.start(
        "training",
        doc,
        version.predictor,
        inputs,
        req.origin,
        destination=(dest_owner, dest_name),
    )
    return EmuResponse(201, [*_JSON, ("Location", doc["urls"]["get"])], run.initial)


@routes.route("GET", "/v1/trainings")
def list_trainings(emu: Any, req: EmuRequest) -> Any:
    return _list(emu, req, "training")


@routes.route("GET", "/v1/trainings/{id}")
def get_training(emu: Any, req: EmuRequest, id: str) -> EmuResponse:
    run, doc = _lookup(emu, "training", id)
    return _answer(emu, run, doc, req)


@routes.route("POST", "/v1/trainings/{id}/cancel")
def cancel_training(emu: Any, req: EmuRequest, id: str) -> EmuResponse:
    run, doc = _lookup(emu, "training", id)
    if run is not None:
        emu.runner.cancel(run)
    return _answer(emu, run, run.doc if run is not None else doc, req)
