"""The flows the conformance tests run through each SDK against one emulator, and how their
answers are reduced to plain JSON for comparison.

Stdlib only: this module is imported by ``v1_flows.py`` / ``v2_flows.py`` under the official
SDKs' interpreters and by ``tests/test_emulator_conformance.py`` under ours. Each SDK supplies an
adapter (the :class:`SDK` protocol): a handful of one-line calls of its documented API. The flow
code is shared, so every SDK makes the same calls in the same order, and any difference in the
results comes from the SDK or the emulator, not from the test.

What is kept of an answer is what must be the same whatever SDK made the call: statuses,
inputs, outputs (file outputs as the SHA-256 of their bytes), field names; ids are replaced by
their order of appearance and timestamps are left out, since they differ from run to run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time
import traceback
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

__all__ = ["SDK", "main", "normalize", "run_flows"]


class SDK(Protocol):
    """What the flows need from one SDK."""

    name: str

    def run(self, ref: str, input: dict[str, Any]) -> Any: ...
    def create(self, version: str, input: dict[str, Any]) -> Any: ...
    def get(self, prediction_id: str) -> Any: ...
    def wait(self, prediction_id: str) -> Any: ...
    def list_ids(self) -> list[str]: ...
    def cancel(self, prediction_id: str) -> Any: ...
    def model(self, owner: str, name: str) -> Any: ...
    def stream(self, ref: str, input: dict[str, Any]) -> list[tuple[str, str]]: ...
    def upload(self, path: str) -> Any: ...
    def get_file(self, file_id: str) -> Any: ...
    def list_file_ids(self) -> list[str]: ...
    def delete_file(self, file_id: str) -> None: ...
    def fields(self, obj: Any) -> dict[str, Any]: ...


def _get(obj: Any, name: str) -> Any:
    """An attribute or a key: the SDKs hand back objects, dicts or a mix."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _plain(value: Any) -> Any:
    """A str-valued enum's value; anything else as it is."""
    return getattr(value, "value", value)


def _status(obj: Any) -> str:
    """A status as its plain string, whether the SDK gives a str or a str-valued enum."""
    return str(_plain(_get(obj, "status")))


def _digest(data: bytes) -> dict[str, Any]:
    return {"file_sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _fetch(url: str) -> bytes:
    if url.startswith("data:"):
        head, _, payload = url.partition(",")
        return (
            base64.b64decode(payload)
            if head.endswith(";base64")
            else urllib.parse.unquote_to_bytes(payload)
        )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        data: bytes = response.read()
    return data


def normalize(value: Any) -> Any:
    """Plain JSON of an output: file outputs (objects with ``read``, or file URLs, which the
    official SDKs leave as strings when they are not ``https:``/``data:``) become their
    digest; iterators become lists."""
    if hasattr(value, "read") and callable(value.read):
        return _digest(value.read())
    if isinstance(value, str):
        if value.startswith(("data:", "http://", "https://")):
            return _digest(_fetch(value))
        return value
    if isinstance(value, Mapping):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (
        isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray))
    ):
        return [normalize(v) for v in value]
    return value


class _Ids:
    """Replaces ids by ``<id N>``, N their order of first appearance."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        key = str(value)
        if key not in self.seen:
            self.seen[key] = f"<id {len(self.seen)}>"
        return self.seen[key]


def _field_names(sdk: SDK, obj: Any) -> list[str]:
    """The names of the fields that hold a value."""
    return sorted(k for k, v in sdk.fields(obj).items() if v is not None)


def _prediction(sdk: SDK, ids: _Ids, p: Any, *, output: bool = True) -> dict[str, Any]:
    urls = _get(p, "urls") or {}
    metrics = _get(p, "metrics") or {}
    return {
        "id": ids(_get(p, "id")),
        "status": _status(p),
        "input": normalize(_get(p, "input")),
        "output": normalize(_get(p, "output")) if output else None,
        "error": _get(p, "error") or None,
        "model": _get(p, "model"),
        "version": _get(p, "version"),
        "logs": _get(p, "logs") or "",
        "urls": sorted(k for k in ("get", "cancel", "stream") if _get(urls, k)),
        "has_predict_time": _get(metrics, "predict_time") is not None,
        "fields": _field_names(sdk, p),
    }


def _file(sdk: SDK, ids: _Ids, f: Any) -> dict[str, Any]:
    checksums = _get(f, "checksums") or {}
    return {
        "id": ids(_get(f, "id")),
        "name": _get(f, "name"),
        "content_type": _get(f, "content_type"),
        "size": _get(f, "size"),
        "sha256": _get(checksums, "sha256"),
        "metadata": _get(f, "metadata"),
        "has_get_url": bool(_get(_get(f, "urls") or {}, "get")),
        "fields": _field_names(sdk, f),
    }


def _wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


def run_flows(sdk: SDK, config: Mapping[str, Any]) -> dict[str, Any]:
    """Every flow, in a fixed order, with its normalized answer."""
    ids = _Ids()
    out: dict[str, Any] = {}
    hello = config["hello_version"]

    # run(): by model name, by pinned version, a token list, a file output, a file input.
    out["run"] = normalize(sdk.run("replicate/hello-world", {"text": "anchor"}))
    out["run_version"] = normalize(sdk.run(f"replicate/hello-world:{hello}", {"text": "pinned"}))
    out["run_tokens"] = normalize(
        sdk.run("replicate/stream-tokens", {"prompt": "hi", "max_tokens": 6, "delay": 0})
    )
    out["run_file_output"] = normalize(
        sdk.run("replicate/png-image", {"width": 4, "height": 3, "color": "#102030"})
    )
    with open(config["upload_path"], "rb") as fh:
        out["run_file_input"] = normalize(sdk.run(config["digest_ref"], {"file": fh}))

    # predictions: create, get (after waiting), list, cancel.
    created = sdk.create(hello, {"text": "created"})
    out["create"] = _prediction(sdk, ids, created, output=False)
    out["create_status_known"] = out["create"]["status"] in ("starting", "processing", "succeeded")
    out["wait"] = _prediction(sdk, ids, sdk.wait(_get(created, "id")))
    out["get"] = _prediction(sdk, ids, sdk.get(_get(created, "id")))
    slow = sdk.create(config["slow_version"], {"steps": 400, "seconds_per_step": 0.05})
    slow_id = _get(slow, "id")
    _wait_until(lambda: _status(sdk.get(slow_id)) == "processing")
    canceled = sdk.cancel(slow_id)
    out["cancel_answer_status"] = _status(canceled)
    final = sdk.wait(slow_id)
    out["canceled"] = {
        "id": ids(_get(final, "id")),
        "status": _status(final),
        "output": normalize(_get(final, "output")),
        "logs_started": (_get(final, "logs") or "").startswith("  0%|"),
    }
    # Newest first; the runs above made predictions too, so only ours are mapped.
    listed = sdk.list_ids()
    out["list"] = [ids.seen.get(i, "<run>") for i in listed]

    # models.get
    model = sdk.model("replicate", "hello-world")
    latest = _get(model, "latest_version")
    out["model"] = {
        "owner": _get(model, "owner"),
        "name": _get(model, "name"),
        "url": _get(model, "url"),
        "visibility": _plain(_get(model, "visibility")),
        "description": _get(model, "description"),
        "latest_version": _get(latest, "id"),
        "latest_version_has_schema": bool(_get(latest, "openapi_schema")),
        "fields": _field_names(sdk, model),
    }

    # streaming (Server-Sent Events), where the SDK has it.
    if config.get("streams"):
        tokens = {"prompt": "yo", "max_tokens": 5, "delay": 0}
        events = sdk.stream("replicate/stream-tokens", tokens)
        # The output events' data, one by one (SDKs differ in whether they hand out the others).
        out["stream"] = [data for kind, data in events if kind == "output"]

    # files: upload, get, list, delete.
    uploaded = sdk.upload(config["upload_path"])
    file_id = _get(uploaded, "id")
    out["file_create"] = _file(sdk, ids, uploaded)
    out["file_get"] = _file(sdk, ids, sdk.get_file(file_id))
    out["file_listed"] = file_id in sdk.list_file_ids()
    sdk.delete_file(file_id)
    out["file_listed_after_delete"] = file_id in sdk.list_file_ids()
    return out


def main(sdk: SDK, version: str) -> None:
    """Run the flows with the configuration in ``argv[1]`` (JSON) and print one JSON object:
    ``{"sdk": ..., "version": ..., "results": ...}`` or ``{"error": ...}`` (exit status 1)."""
    config = json.loads(sys.argv[1])
    try:
        results = run_flows(sdk, config)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"error": error, "trace": traceback.format_exc()}))
        sys.exit(1)
    print(json.dumps({"sdk": sdk.name, "version": version, "results": results}))
