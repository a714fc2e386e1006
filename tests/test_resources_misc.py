"""Collections, hardware, account, webhooks and search against a loopback server, and the
module-level ``replicate.<resource>`` proxies to the default client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import ROOT

import replicate
from replicate import _default
from replicate._response import APIResponse
from replicate.pagination import SyncPage
from replicate.types import Account, Collection, Hardware, SearchResponse, WebhookSecret

COLLECTION = {
    "name": "Super resolution",
    "slug": "super-resolution",
    "description": "Upscaling models",
}
ACCOUNT = {
    "type": "organization",
    "username": "acme",
    "name": "Acme Corp",
    "github_url": "https://github.com/acme",
    "avatar_url": "https://example.com/a.png",
}
SECRET_KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(SECRET_KEY).decode()


# --- collections --------------------------------------------------------------------------------


def test_collections_list_follows_pages(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    second = httpserver.url_for("/v1/collections") + "?cursor=c2"
    httpserver.expect_request("/v1/collections", query_string="cursor=c2").respond_with_json(
        {"next": None, "previous": None, "results": [{**COLLECTION, "slug": "text-to-image"}]}
    )
    httpserver.expect_request("/v1/collections", query_string="").respond_with_json(
        {"next": second, "previous": None, "results": [COLLECTION]}
    )
    page = client.collections.list()
    assert isinstance(page, SyncPage)
    assert page.has_next_page()
    items = list(page)
    assert all(isinstance(c, Collection) for c in items)
    assert [c.slug for c in items] == ["super-resolution", "text-to-image"]
    assert items[0].models is None
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_collections_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/collections/super-resolution").respond_with_json(
        {
            **COLLECTION,
            "full_description": "# Upscalers",
            "models": [{"owner": "nightmareai", "name": "real-esrgan", "run_count": 7}],
        }
    )
    c = client.collections.get("super-resolution")
    assert c.slug == "super-resolution"
    assert c.full_description == "# Upscalers"
    assert c.models is not None and c.models[0].name == "real-esrgan"
    assert c.models[0].run_count == 7
    assert client.collections.get(collection_slug="super-resolution").slug == "super-resolution"
    with pytest.raises(ValueError, match="collection_slug"):
        client.collections.get("")
    with pytest.raises(TypeError, match="unexpected keyword"):
        client.collections.get("x", sort="asc")  # type: ignore[call-arg]
    assert len(httpserver.log) == 2


def test_collections_get_not_found(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/collections/nope").respond_with_json(
        {"detail": "Not found."}, status=404
    )
    with pytest.raises(replicate.NotFoundError):
        client.collections.get("nope")


# --- hardware and account -----------------------------------------------------------------------


def test_hardware_list_is_a_bare_list(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/hardware", method="GET").respond_with_json(
        [{"name": "CPU", "sku": "cpu"}, {"name": "Nvidia T4 GPU", "sku": "gpu-t4"}]
    )
    hardware = client.hardware.list()
    assert type(hardware) is list
    assert all(isinstance(h, Hardware) for h in hardware)
    assert [h.sku for h in hardware] == ["cpu", "gpu-t4"]
    assert hardware[1].name == "Nvidia T4 GPU"


def test_hardware_list_rejects_a_page(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/hardware").respond_with_json({"results": []})
    with pytest.raises(replicate.APIResponseValidationError):
        client.hardware.list()


def test_account_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/account", method="GET").respond_with_json(ACCOUNT)
    account = client.account.get()
    assert isinstance(account, Account)
    assert (account.username, account.type, account.name) == ("acme", "organization", "Acme Corp")


def test_account_raw_and_options(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/account", headers={"X-Extra": "1"}).respond_with_json(
        ACCOUNT, headers={"ratelimit-remaining": "41"}
    )
    raw = client.account.with_raw_response.get(extra_headers={"X-Extra": "1"})
    assert isinstance(raw, APIResponse)
    assert raw.headers["ratelimit-remaining"] == "41"
    assert raw.parse().username == "acme"
    raw2: Any = client.with_raw_response.account.get(extra_headers={"X-Extra": "1"})
    assert raw2.parse().username == "acme"


def test_unauthenticated_account(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/account").respond_with_json(
        {"title": "Unauthenticated", "detail": "Invalid token", "status": 401}, status=401
    )
    with pytest.raises(replicate.AuthenticationError, match="Invalid token"):
        client.account.get()


# --- webhooks -----------------------------------------------------------------------------------


def sign(body: bytes, *, msg_id: str = "msg_1", timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(SECRET_KEY, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def test_webhook_secret_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/webhooks/default/secret", method="GET").respond_with_json(
        {"key": SECRET}
    )
    secret = client.webhooks.default.secret.get()
    assert isinstance(secret, WebhookSecret)
    assert secret.key == SECRET
    raw = client.webhooks.default.secret.with_raw_response.get()
    assert isinstance(raw, APIResponse) and raw.parse().key == SECRET
    assert len(httpserver.log) == 2


def test_client_webhooks_validate(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/webhooks/default/secret").respond_with_json({"key": SECRET})
    body = b'{"id": "p1", "status": "succeeded"}'
    headers = sign(body)
    assert client.webhooks.validate(headers=headers, body=body, secret=SECRET) is True
    # The WebhookSecret object itself works as the secret, as v1's did.
    secret = client.webhooks.default.secret.get()
    assert client.webhooks.validate(headers=headers, body=body, secret=secret) is True
    # Static: callable on the class too.
    from replicate.resources.webhooks import Webhooks

    assert Webhooks.validate(headers=headers, body=body.decode(), secret=SECRET) is True
    with pytest.raises(replicate.WebhookVerificationError, match="No matching signature"):
        client.webhooks.validate(headers=headers, body=body + b" ", secret=SECRET)
    stale = sign(body, timestamp=int(time.time()) - 3600)
    with pytest.raises(replicate.WebhookVerificationError, match="too old"):
        client.webhooks.validate(headers=stale, body=body, secret=SECRET)
    assert client.webhooks.validate(headers=stale, body=body, secret=SECRET, tolerance=None)


# --- search -------------------------------------------------------------------------------------


def test_search_sends_query_and_limit(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/search", method="GET", query_string={"query": "upscale photos", "limit": "5"}
    ).respond_with_json(
        {
            "query": "upscale photos",
            "models": [
                {
                    "model": {"owner": "nightmareai", "name": "real-esrgan"},
                    "metadata": {"score": 0.9, "tags": ["upscale"]},
                }
            ],
            "collections": [{"slug": "super-resolution", "models": ["nightmareai/real-esrgan"]}],
            "pages": [{"name": "Upscaling", "href": "/docs/upscaling"}],
        }
    )
    result = client.search(query="upscale photos", limit=5)
    assert isinstance(result, SearchResponse)
    assert result.models[0].model is not None and result.models[0].model.name == "real-esrgan"
    assert result.collections[0].models == ["nightmareai/real-esrgan"]
    assert result.pages[0].href == "/docs/upscaling"
    assert httpserver.log[0][0].environ["QUERY_STRING"] == "query=upscale%20photos&limit=5"


def test_search_without_limit(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/search", query_string="query=flux").respond_with_json(
        {"query": "flux"}
    )
    result = client.search(query="flux")
    assert result.models == [] and result.collections == [] and result.pages == []
    with pytest.raises(ValueError, match="query"):
        client.search(query="")
    assert len(httpserver.log) == 1


# --- module-level proxies -----------------------------------------------------------------------

RESOURCES = [
    "predictions",
    "models",
    "deployments",
    "trainings",
    "files",
    "collections",
    "hardware",
    "account",
]


@pytest.mark.parametrize("name", RESOURCES)
def test_module_proxies_follow_the_default_client(httpserver: HTTPServer, name: str) -> None:
    one = replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/one"))
    two = replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/two"))
    try:
        _default.set_default_client(one)
        first = getattr(replicate, name)
        assert first is getattr(one, name)
        assert first._client is one
        _default.set_default_client(two)
        second = getattr(replicate, name)
        assert second is getattr(two, name)
        assert second._client is two
        assert name not in vars(replicate)  # never cached in the module
        assert name in dir(replicate)
    finally:
        one.close()
        two.close()


def test_module_proxies_send_through_the_default_client(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/one/account").respond_with_json({"username": "first"})
    httpserver.expect_request("/two/account").respond_with_json({"username": "second"})
    httpserver.expect_request("/two/hardware").respond_with_json([{"sku": "cpu"}])
    with replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/one")) as one:
        _default.set_default_client(one)
        assert replicate.account.get().username == "first"
    with replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/two")) as two:
        _default.set_default_client(two)
        assert replicate.account.get().username == "second"
        assert [h.sku for h in replicate.hardware.list()] == ["cpu"]


def test_module_webhooks_default_uses_the_environment(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_BASE_URL", httpserver.url_for("/v1"))
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    httpserver.expect_request(
        "/v1/webhooks/default/secret", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"key": SECRET})
    httpserver.expect_request("/v1/account").respond_with_json(ACCOUNT)

    secret = replicate.webhooks.default.secret.get()
    assert secret.key == SECRET
    assert replicate.account.get().username == "acme"
    assert len(httpserver.log) == 2
    # The module keeps its validation helpers.
    body = b"{}"
    assert replicate.webhooks.validate(headers=sign(body), body=body, secret=secret.key or "")
    with pytest.raises(AttributeError):
        replicate.webhooks.nonexistent  # noqa: B018


def test_module_webhooks_default_follows_set_default_client(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a/webhooks/default/secret").respond_with_json({"key": "whsec_a"})
    httpserver.expect_request("/b/webhooks/default/secret").respond_with_json({"key": "whsec_b"})
    with (
        replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/a")) as a,
        replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/b")) as b,
    ):
        _default.set_default_client(a)
        assert replicate.webhooks.default.secret.get().key == "whsec_a"
        _default.set_default_client(b)
        assert replicate.webhooks.default.secret.get().key == "whsec_b"


def test_lazy_exports() -> None:
    from replicate import _response, _sentinels, pagination, webhooks

    assert replicate.NOT_GIVEN is _sentinels.NOT_GIVEN
    assert replicate.not_given is _sentinels.NOT_GIVEN
    assert replicate.NotGiven is _sentinels.NotGiven
    assert replicate.Omit is _sentinels.Omit
    assert replicate.omit is _sentinels.omit
    assert replicate.APIResponse is _response.APIResponse
    assert replicate.BinaryAPIResponse is _response.BinaryAPIResponse
    assert replicate.SyncPage is pagination.SyncPage
    assert replicate.WebhookVerificationError is webhooks.WebhookVerificationError
    assert replicate.webhooks is webhooks
    for name in [
        "NOT_GIVEN",
        "NotGiven",
        "not_given",
        "Omit",
        "omit",
        "APIResponse",
        "BinaryAPIResponse",
        "SyncPage",
        "WebhookVerificationError",
    ]:
        assert name in replicate.__all__
    with pytest.raises(AttributeError):
        replicate.no_such_thing  # noqa: B018


def test_import_stays_light_and_builds_no_client() -> None:
    code = (
        "import sys, replicate\n"
        "loaded = set(sys.modules)\n"
        "assert not {'replicate._client', 'replicate._default', 'urllib3', 'msgspec'} & loaded, "
        "sorted(loaded)\n"
        "replicate.NOT_GIVEN, replicate.omit, replicate.webhooks.validate\n"
        "assert 'replicate._client' not in sys.modules\n"
        "assert 'urllib3' not in sys.modules\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    env["REPLICATE_PLUGINS"] = ""
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
