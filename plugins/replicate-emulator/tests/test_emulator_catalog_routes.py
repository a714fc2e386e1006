"""The catalog's and the admin routes end to end, through ``Emulator.handle``: status codes,
content types and JSON shapes as the API answers them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.faults import Faults
from replicate_emulator.ratelimit import RateLimits
from replicate_emulator.webhooks import new_secret
from replicate_emulator.wire import EmuRequest, EmuResponse

import replicate.webhooks

ORIGIN = "https://api.replicate.com"
AUTH = ("Authorization", "Bearer r8_test")


def greet(text: str = "world") -> str:
    """Says hello to someone."""
    return f"hello {text}"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(models=[("acme/greet", greet)], entry_points=False) as e:
        yield e


def send(
    emu: Emulator,
    method: str,
    target: str,
    body: Any = None,
    *,
    headers: list[tuple[str, str]] | None = None,
    auth: bool = True,
) -> EmuResponse:
    raw = body if isinstance(body, bytes) else b"" if body is None else msgspec.json.encode(body)
    hdrs = list(headers or [])
    if auth:
        hdrs.append(AUTH)
    if body is not None and not isinstance(body, bytes):
        hdrs.append(("Content-Type", "application/json"))
    return emu.handle(EmuRequest.from_target(method, target, hdrs, raw, ORIGIN))


def body_of(resp: EmuResponse) -> bytes:
    if isinstance(resp.body, (bytes, bytearray)):
        return bytes(resp.body)
    return b"".join(resp.body)


def json_of(resp: EmuResponse, status: int = 200) -> Any:
    assert resp.status == status, body_of(resp)
    content_type = resp.header("Content-Type") or ""
    if status >= 400:
        assert content_type.startswith("application/problem+json")
    else:
        assert content_type.startswith("application/json")
    return msgspec.json.decode(body_of(resp))


def all_pages(emu: Emulator, method: str, target: str, body: Any = None) -> list[Any]:
    found: list[Any] = []
    while target:
        page = json_of(send(emu, method, target, body))
        assert set(page) >= {"next", "previous", "results"}
        found.extend(page["results"])
        target = page["next"] and page["next"].removeprefix(ORIGIN)
    return found


# -- models ---------------------------------------------------------------------------------


def test_models_list_get_and_version(emu: Emulator) -> None:
    models = all_pages(emu, "GET", "/v1/models")
    refs = {f"{m['owner']}/{m['name']}" for m in models}
    assert "acme/greet" in refs
    model = json_of(send(emu, "GET", "/v1/models/acme/greet"))
    assert model["url"] == "https://replicate.com/acme/greet"
    assert model["description"] == "Says hello to someone."
    latest = model["latest_version"]
    assert latest["openapi_schema"]["components"]["schemas"]["Input"]["properties"]["text"]
    version = json_of(send(emu, "GET", f"/v1/models/acme/greet/versions/{latest['id']}"))
    assert version == latest
    versions = all_pages(emu, "GET", "/v1/models/acme/greet/versions")
    assert [v["id"] for v in versions] == [latest["id"]]
    missing = json_of(send(emu, "GET", "/v1/models/acme/nope"), 404)
    assert missing["status"] == 404 and missing["detail"]
    json_of(send(emu, "GET", f"/v1/models/acme/nope/versions/{latest['id']}"), 404)


def test_model_create_update_delete(emu: Emulator) -> None:
    body = {"owner": "emulator", "name": "mine", "visibility": "private", "hardware": "cpu"}
    created = json_of(send(emu, "POST", "/v1/models", body), 201)
    assert created["latest_version"] is None and created["visibility"] == "private"
    again = json_of(send(emu, "POST", "/v1/models", body), 409)
    assert again["status"] == 409
    bad = json_of(send(emu, "POST", "/v1/models", {"owner": "emulator"}), 422)
    assert "- name:" in bad["detail"]
    json_of(send(emu, "POST", "/v1/models", b"{not json"), 400)
    updated = json_of(send(emu, "PATCH", "/v1/models/emulator/mine", {"description": "Mine"}))
    assert updated["description"] == "Mine"
    assert json_of(send(emu, "GET", "/v1/models/emulator/mine"))["description"] == "Mine"
    deleted = send(emu, "DELETE", "/v1/models/emulator/mine")
    assert deleted.status == 204 and body_of(deleted) == b""
    json_of(send(emu, "GET", "/v1/models/emulator/mine"), 404)
    json_of(send(emu, "DELETE", "/v1/models/acme/greet"), 403)


def test_readme_and_examples(emu: Emulator) -> None:
    resp = send(emu, "GET", "/v1/models/acme/greet/readme")
    assert resp.status == 200
    assert (resp.header("Content-Type") or "").startswith("text/plain")
    assert body_of(resp).decode() == "# acme/greet\n\nSays hello to someone.\n"
    assert all_pages(emu, "GET", "/v1/models/acme/greet/examples") == []
    json_of(send(emu, "GET", "/v1/models/acme/nope/examples"), 404)


def test_version_delete_is_202_for_trained_versions(emu: Emulator) -> None:
    base = emu.registry.get("acme/greet")
    assert base is not None
    json_of(
        send(
            emu,
            "POST",
            "/v1/models",
            {"owner": "emulator", "name": "tuned", "visibility": "private", "hardware": "cpu"},
        ),
        201,
    )
    version = emu.catalog.add_version("emulator", "tuned", base)
    resp = send(emu, "DELETE", f"/v1/models/emulator/tuned/versions/{version.id}")
    assert resp.status == 202
    json_of(send(emu, "GET", f"/v1/models/emulator/tuned/versions/{version.id}"), 404)
    json_of(send(emu, "DELETE", f"/v1/models/acme/greet/versions/{base.version_id}"), 403)


def test_models_search_with_query(emu: Emulator) -> None:
    found = all_pages(emu, "QUERY", "/v1/models", b"greet someone")
    assert [f"{m['owner']}/{m['name']}" for m in found][:1] == ["acme/greet"]
    assert all_pages(emu, "QUERY", "/v1/models", b"zebra-unicorn") == []
    json_of(send(emu, "QUERY", "/v1/models", b"  "), 400)


def test_search_endpoint(emu: Emulator) -> None:
    result = json_of(send(emu, "GET", "/v1/search?query=greet&limit=5"))
    assert set(result) == {"query", "models", "collections", "pages"}
    assert result["query"] == "greet"
    first = result["models"][0]
    assert first["model"]["name"] == "greet"
    assert set(first["metadata"]) == {"generated_description", "tags", "score"}
    assert "emulator-models" in first["metadata"]["tags"]
    streaming = json_of(send(emu, "GET", "/v1/search?query=streaming"))
    assert "streaming-language-models" in [c["slug"] for c in streaming["collections"]]
    assert json_of(send(emu, "GET", "/v1/search"), 400)["detail"] == (
        'Query parameter "query" is required'
    )
    json_of(send(emu, "GET", "/v1/search?query=x&limit=0"), 400)
    json_of(send(emu, "GET", "/v1/search?query=x&limit=51"), 400)
    json_of(send(emu, "GET", "/v1/search?query=x&limit=many"), 400)


# -- deployments ----------------------------------------------------------------------------


def test_deployments_crud(emu: Emulator) -> None:
    predictor = emu.registry.get("acme/greet")
    assert predictor is not None
    version = predictor.version_id
    body = {
        "name": "my-dep",
        "model": "acme/greet",
        "version": version,
        "hardware": "gpu-t4",
        "min_instances": 0,
        "max_instances": 2,
    }
    created = json_of(send(emu, "POST", "/v1/deployments", body))
    assert created["owner"] == "emulator" and created["current_release"]["number"] == 1
    assert json_of(send(emu, "GET", "/v1/deployments/emulator/my-dep")) == created
    assert all_pages(emu, "GET", "/v1/deployments") == [created]
    patched = json_of(send(emu, "PATCH", "/v1/deployments/emulator/my-dep", {"max_instances": 4}))
    assert patched["current_release"]["number"] == 2
    assert patched["current_release"]["configuration"]["max_instances"] == 4
    json_of(send(emu, "PATCH", "/v1/deployments/emulator/my-dep", {"hardware": "tpu"}), 422)
    json_of(send(emu, "POST", "/v1/deployments", {**body, "hardware": "tpu"}), 422)
    assert send(emu, "DELETE", "/v1/deployments/emulator/my-dep").status == 204
    json_of(send(emu, "GET", "/v1/deployments/emulator/my-dep"), 404)
    json_of(send(emu, "DELETE", "/v1/deployments/emulator/my-dep"), 404)


# -- collections, hardware, account, secret -------------------------------------------------


def test_collections(emu: Emulator) -> None:
    listed = all_pages(emu, "GET", "/v1/collections")
    assert "emulator-models" in [c["slug"] for c in listed]
    collection = json_of(send(emu, "GET", "/v1/collections/emulator-models"))
    assert "greet" in [m["name"] for m in collection["models"]]
    json_of(send(emu, "GET", "/v1/collections/nope"), 404)


def test_hardware_account_and_secret() -> None:
    secret = new_secret()
    with Emulator(entry_points=False, webhook_secret=secret) as emu:
        hardware = json_of(send(emu, "GET", "/v1/hardware"))
        assert isinstance(hardware, list) and {"sku": "cpu", "name": "CPU"} in hardware
        account = json_of(send(emu, "GET", "/v1/account"))
        assert account["type"] == "user" and account["username"] == "emulator"
        assert json_of(send(emu, "GET", "/v1/webhooks/default/secret")) == {"key": secret}


def test_catalog_routes_need_a_token(emu: Emulator) -> None:
    for target in ("/v1/models", "/v1/hardware", "/v1/account", "/v1/webhooks/default/secret"):
        assert send(emu, "GET", target, auth=False).status == 401


# -- admin: faults and webhooks -------------------------------------------------------------


def test_faults_over_http(emu: Emulator) -> None:
    rule = {"route": "GET /v1/hardware", "status": 503, "times": 2}
    added = json_of(send(emu, "POST", "/emulator/faults", rule, auth=False), 201)
    assert added["rules"][0]["status"] == 503
    listed = json_of(send(emu, "GET", "/emulator/faults", auth=False))
    assert [r["route"] for r in listed["rules"]] == ["GET /v1/hardware"]
    assert send(emu, "GET", "/v1/hardware").status == 503
    assert send(emu, "GET", "/v1/account").status == 200
    assert send(emu, "GET", "/v1/hardware").status == 503
    assert send(emu, "GET", "/v1/hardware").status == 200
    json_of(send(emu, "POST", "/emulator/faults", [rule, {"drop": "before"}], auth=False), 201)
    assert len(json_of(send(emu, "GET", "/emulator/faults", auth=False))["rules"]) == 3
    # A drop-everything rule does not stop the admin routes.
    assert send(emu, "GET", "/v1/account").drop == "before"
    assert send(emu, "DELETE", "/emulator/faults", auth=False).status == 204
    assert json_of(send(emu, "GET", "/emulator/faults", auth=False))["rules"] == []
    assert send(emu, "GET", "/v1/account").status == 200
    bad = json_of(send(emu, "POST", "/emulator/faults", {"drop": "sideways"}, auth=False), 422)
    assert "drop" in bad["detail"]


def test_faults_given_to_the_emulator() -> None:
    faults = Faults([{"route": "GET /v1/account", "burst_429": 1}])
    with Emulator(entry_points=False, faults=faults) as emu:
        throttled = send(emu, "GET", "/v1/account")
        assert throttled.status == 429 and throttled.header("Retry-After") == "1"
        assert send(emu, "GET", "/v1/account").status == 200


def test_rate_limits_given_to_the_emulator() -> None:
    with Emulator(entry_points=False, rate_limits=RateLimits(other=2, window=60)) as emu:
        assert send(emu, "GET", "/v1/account").status == 200
        assert send(emu, "GET", "/v1/hardware").status == 200
        throttled = json_of(send(emu, "GET", "/v1/account"), 429)
        assert throttled["detail"].startswith("Request was throttled. Your rate limit resets in ~")


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_prediction_webhook_end_to_end(emu: Emulator) -> None:
    receiver = Receiver()
    try:
        created = json_of(
            send(
                emu,
                "POST",
                "/v1/models/acme/greet/predictions",
                {"input": {"text": "hooks"}, "webhook": receiver.url},
                headers=[("Prefer", "wait=10")],
            ),
            201,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done = [d for d in emu.webhooks.deliveries(created["id"]) if d.event == "completed"]
            if done and done[-1].ok:
                break
            time.sleep(0.02)
        assert emu.webhooks.wait_delivered(10)
        key = json_of(send(emu, "GET", "/v1/webhooks/default/secret"))["key"]
        with receiver.lock:
            requests = list(receiver.requests)
        assert requests
        for headers, body in requests:
            assert replicate.webhooks.validate(headers=headers, body=body, secret=key)
        last = json.loads(requests[-1][1])
        assert last["id"] == created["id"] and last["status"] == "succeeded"
        assert last["output"] == "hello hooks"
        listed = json_of(send(emu, "GET", "/emulator/webhooks", auth=False))
        assert listed["results"][-1]["event"] == "completed"
        assert listed["results"][-1]["status"] == 204
    finally:
        receiver.close()
