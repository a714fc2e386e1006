"""``client.deployments`` and ``client.deployments.predictions`` against a loopback server.

What every resource does alike (validation, per-call options, two-page lists, raw responses)
is in ``test_resources_common.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import VERSION_ID, deployment, last_request, raw_uri

import replicate
from replicate.types import Account, Deployment, DeploymentRelease, Prediction

PREDICTION = {
    "id": "ufawqhfynnddngldkgtslldrkq",
    "model": "stability-ai/sdxl",
    "version": VERSION_ID,
    "input": {"prompt": "a cat"},
    "status": "starting",
    "created_at": "2024-05-01T12:00:00Z",
    "deployment": "acme/my-app",
    "urls": {"get": "https://api.replicate.com/v1/predictions/ufawqhfynnddngldkgtslldrkq"},
}


# --- deployments -----------------------------------------------------------------------------


def test_create_sends_all_fields(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/deployments",
        method="POST",
        json={
            "hardware": "gpu-t4",
            "max_instances": 5,
            "min_instances": 1,
            "model": "stability-ai/sdxl",
            "name": "my-app",
            "version": VERSION_ID,
        },
    ).respond_with_json(deployment())
    result = client.deployments.create(
        hardware="gpu-t4",
        max_instances=5,
        min_instances=1,
        model="stability-ai/sdxl",
        name="my-app",
        version=VERSION_ID,
    )
    assert isinstance(result, Deployment)
    assert (result.owner, result.name) == ("acme", "my-app")
    release = result.current_release
    assert isinstance(release, DeploymentRelease)
    assert release.number == 3
    assert release.created_at == dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    assert isinstance(release.created_by, Account)
    assert release.created_by.username == "acme"
    assert release.configuration is not None
    assert release.configuration.max_instances == 5
    req = last_request(httpserver)
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"


def test_create_requires_every_field(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    with pytest.raises(TypeError):
        client.deployments.create(  # type: ignore[call-arg]
            hardware="gpu-t4", max_instances=5, min_instances=1, model="a/b", name="x"
        )
    assert not httpserver.log


def test_get_positional_and_keyword(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/acme/my-app", method="GET").respond_with_json(
        deployment()
    )
    a = client.deployments.get("acme", "my-app")
    b = client.deployments.get(deployment_owner="acme", deployment_name="my-app")
    assert a == b
    assert a.current_release is not None
    assert a.current_release.model == "stability-ai/sdxl"
    assert len(httpserver.log) == 2


def test_get_quotes_path_params(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/ac me/x?y").respond_with_json(deployment())
    client.deployments.get("ac me", "x?y")
    assert raw_uri(last_request(httpserver)) == "/v1/deployments/ac%20me/x%3Fy"


def test_update_sends_only_given_fields(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/deployments/acme/my-app",
        method="PATCH",
        json={"min_instances": 0, "max_instances": 2},
    ).respond_with_json(deployment(number=4))
    result = client.deployments.update("acme", "my-app", min_instances=0, max_instances=2)
    assert result.current_release is not None
    assert result.current_release.number == 4

    httpserver.clear()
    httpserver.expect_request(
        "/v1/deployments/acme/my-app",
        method="PATCH",
        json={"hardware": "gpu-a40-large", "version": "b" * 64},
    ).respond_with_json(deployment(number=5))
    result = client.deployments.update(
        deployment_owner="acme",
        deployment_name="my-app",
        hardware="gpu-a40-large",
        version="b" * 64,
    )
    assert result.current_release is not None
    assert result.current_release.number == 5


def test_update_is_not_retried(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/acme/x", method="PATCH").respond_with_data(
        "", status=502
    )
    with pytest.raises(replicate.InternalServerError):
        client.deployments.update("acme", "x", min_instances=1)
    assert len(httpserver.log) == 1


def test_delete_returns_none(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/acme/my-app", method="DELETE").respond_with_data(
        "", status=204
    )
    assert client.deployments.delete("acme", "my-app") is None
    assert last_request(httpserver).method == "DELETE"


# --- deployments.predictions.create ----------------------------------------------------------


def test_predictions_create(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/deployments/acme/my-app/predictions",
        method="POST",
        json={
            "input": {"prompt": "a cat"},
            "webhook": "https://example.com/hook",
            "webhook_events_filter": ["completed"],
        },
    ).respond_with_json(PREDICTION, status=201)
    prediction = client.deployments.predictions.create(
        "acme",
        "my-app",
        input={"prompt": "a cat"},
        webhook="https://example.com/hook",
        webhook_events_filter=["completed"],
        wait=True,
        cancel_after="1h30m",
    )
    assert isinstance(prediction, Prediction)
    assert prediction.id == "ufawqhfynnddngldkgtslldrkq"
    assert prediction.deployment == "acme/my-app"
    assert prediction.created_at == dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    req = last_request(httpserver)
    assert req.headers["Prefer"] == "wait"
    assert req.headers["Cancel-After"] == "1h30m"


def test_predictions_create_keywords_prefer_and_stream(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/deployments/acme/my-app/predictions",
        method="POST",
        json={"input": {"n": 1}, "stream": True},
    ).respond_with_json({**PREDICTION, "status": "processing"}, status=202)
    prediction = client.deployments.predictions.create(
        deployment_owner="acme",
        deployment_name="my-app",
        input={"n": 1},
        stream=True,
        prefer="wait=3",
        file_encoding_strategy="base64",
    )
    assert prediction.status == "processing"
    req = last_request(httpserver)
    assert req.headers["Prefer"] == "wait=3"
    assert "Cancel-After" not in req.headers
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"input": {}, "wait": 5, "prefer": "wait=5"}, TypeError),
        ({"input": {}, "wait": 0}, ValueError),
        ({"input": {}, "prefer": "wait\r\nX: y"}, ValueError),
        ({"input": "prompt"}, TypeError),
    ],
)
def test_predictions_create_rejects_bad_arguments(
    httpserver: HTTPServer, client: replicate.Replicate, kwargs: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        client.deployments.predictions.create("acme", "my-app", **kwargs)
    assert not httpserver.log
