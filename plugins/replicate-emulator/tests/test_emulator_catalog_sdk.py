"""The catalog through our SDK, in process: what a user's code sees of models, versions,
deployments, collections, hardware, search, the account and the webhook secret, and a
webhook the SDK's validator accepts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.transport import EmulatorTransport

import replicate
import replicate.webhooks


def greet(text: str = "world") -> str:
    """Says hello to someone."""
    return f"hello {text}"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(models=[("acme/greet", greet)], entry_points=False) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[replicate.Replicate]:
    with replicate.Replicate(bearer_token="r8_test", transport=EmulatorTransport(emu)) as c:
        yield c


def test_models_and_versions(client: replicate.Replicate) -> None:
    model = client.models.get("acme", "greet")
    assert model.owner == "acme" and model.name == "greet"
    assert model.description == "Says hello to someone."
    assert model.latest_version is not None
    version_id = model.latest_version.id
    assert len(version_id) == 64
    version = client.models.versions.get("acme", "greet", version_id)
    assert version.openapi_schema == model.latest_version.openapi_schema
    assert [v.id for v in client.models.versions.list("acme", "greet")] == [version_id]
    refs = {f"{m.owner}/{m.name}" for m in client.models.list()}
    assert {"acme/greet", "replicate/hello-world"} <= refs
    assert client.models.readme.get("acme", "greet").startswith("# acme/greet")
    found = [f"{m.owner}/{m.name}" for m in client.models.search(query="greet")]
    assert found[0] == "acme/greet"
    with pytest.raises(replicate.NotFoundError):
        client.models.get("acme", "nope")


def test_create_update_delete_model(client: replicate.Replicate) -> None:
    created = client.models.create(
        owner="emulator", name="mine", visibility="private", hardware="cpu"
    )
    assert created.latest_version is None and created.visibility == "private"
    updated = client.models.update("emulator", "mine", description="Mine now")
    assert updated.description == "Mine now"
    client.models.delete("emulator", "mine")
    with pytest.raises(replicate.NotFoundError):
        client.models.get("emulator", "mine")


def test_deployment_life_and_prediction(client: replicate.Replicate) -> None:
    version = client.models.get("acme", "greet").latest_version
    assert version is not None
    dep = client.deployments.create(
        name="greeter",
        model="acme/greet",
        version=version.id,
        hardware="cpu",
        min_instances=0,
        max_instances=1,
    )
    assert dep.owner == "emulator" and dep.current_release is not None
    assert dep.current_release.number == 1
    assert dep.current_release.configuration is not None
    assert dep.current_release.configuration.hardware == "cpu"
    updated = client.deployments.update("emulator", "greeter", max_instances=3)
    assert updated.current_release is not None and updated.current_release.number == 2
    assert [d.name for d in client.deployments.list()] == ["greeter"]
    prediction = client.deployments.predictions.create(
        "emulator", "greeter", input={"text": "dep"}, wait=10
    )
    assert prediction.output == "hello dep"
    client.deployments.delete("emulator", "greeter")
    with pytest.raises(replicate.NotFoundError):
        client.deployments.get("emulator", "greeter")


def test_collections_hardware_account_search(client: replicate.Replicate) -> None:
    slugs = [c.slug for c in client.collections.list()]
    assert "emulator-models" in slugs
    collection = client.collections.get("emulator-models")
    assert "acme/greet" in {f"{m.owner}/{m.name}" for m in collection.models or []}
    skus = [h.sku for h in client.hardware.list()]
    assert "cpu" in skus and "gpu-t4" in skus
    account = client.account.get()
    assert account.username == "emulator" and account.type == "user"
    result = client.search(query="greet")
    assert result.models and result.models[0].model is not None
    assert result.models[0].model.name == "greet"


def test_webhook_signed_with_the_secret_the_api_gives(
    client: replicate.Replicate, emu: Emulator
) -> None:
    got: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.append((dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if b'"succeeded"' in body:
                arrived.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        prediction = client.models.predictions.create(
            "acme", "greet", input={"text": "hook"}, webhook=url, wait=10
        )
        assert arrived.wait(10)
        secret = client.webhooks.default.secret.get().key
        assert secret == emu.webhooks.secret
        for headers, body in got:
            assert replicate.webhooks.validate(headers=headers, body=body, secret=secret)
        assert prediction.id in got[-1][1].decode()
    finally:
        server.shutdown()
        server.server_close()
