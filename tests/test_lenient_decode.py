"""Open objects decode leniently: ``Model.default_example`` and ``Model.latest_version`` are
"any object or null" in the spec, so a partial one (``{}``, or one without ``id``) must not fail
the decode of a model, a model list, a collection or a search; a complete one is still a
Prediction / Version. Against a loopback server, through the public client."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer
from support import VERSION_ID

import replicate
from replicate.pagination import SyncCursorURLPage
from replicate.types import (
    ExamplePrediction,
    LatestVersion,
    Model,
    Page,
    Prediction,
    Version,
    decoder_for,
)


def model(**fields: Any) -> dict[str, Any]:
    return {"owner": "acme", "name": "hot-dog", "run_count": 3, **fields}


PARTIAL = model(default_example={}, latest_version={})
NO_IDS = model(
    default_example={"input": {"prompt": "a hot dog"}, "output": "yes", "status": "succeeded"},
    latest_version={"cog_version": "0.9.4", "openapi_schema": {"openapi": "3.0.2"}},
)
COMPLETE = model(
    default_example={"id": "p1", "status": "succeeded", "created_at": "2024-05-01T12:00:00Z"},
    latest_version={"id": VERSION_ID, "created_at": "2024-05-01T12:00:00Z"},
)


def check_partial(m: Model) -> None:
    assert (m.owner, m.name, m.run_count) == ("acme", "hot-dog", 3)
    assert isinstance(m.default_example, Prediction) and m.default_example.id == ""
    assert type(m.latest_version) is LatestVersion and m.latest_version.id == ""
    assert isinstance(m.latest_version, Version)
    assert m.default_example.to_dict() == {} and m.latest_version.to_dict() == {}


def test_models_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models/acme/hot-dog").respond_with_json(PARTIAL)
    check_partial(client.models.get("acme", "hot-dog"))


def test_models_list(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models").respond_with_json(
        {"next": None, "previous": None, "results": [PARTIAL, NO_IDS, COMPLETE]}
    )
    page = client.models.list()
    assert isinstance(page, SyncCursorURLPage)
    partial, no_ids, complete = list(page)
    check_partial(partial)
    assert no_ids.default_example is not None and no_ids.latest_version is not None
    assert no_ids.default_example.output == "yes" and no_ids.default_example.id == ""
    assert no_ids.latest_version.openapi_schema == {"openapi": "3.0.2"}
    assert complete.default_example is not None and complete.default_example.id == "p1"
    assert complete.default_example.created_at is not None
    assert complete.default_example.created_at.tzinfo is not None
    assert complete.latest_version is not None and complete.latest_version.id == VERSION_ID


def test_collections_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/collections/hot-dogs").respond_with_json(
        {"slug": "hot-dogs", "name": "Hot dogs", "description": "d", "models": [PARTIAL, NO_IDS]}
    )
    collection = client.collections.get("hot-dogs")
    assert collection.models is not None
    check_partial(collection.models[0])
    assert collection.models[1].latest_version == LatestVersion(
        cog_version="0.9.4", openapi_schema={"openapi": "3.0.2"}
    )


def test_search(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/search").respond_with_json(
        {
            "query": "q",
            "models": [{"model": PARTIAL, "metadata": {}}],
            "collections": [],
            "pages": [],
        }
    )
    result = client.search(query="q")
    assert result.models[0].model is not None
    check_partial(result.models[0].model)


@pytest.mark.parametrize("body", [PARTIAL, NO_IDS, COMPLETE], ids=["empty", "no-ids", "complete"])
def test_decoders_and_from_dict_agree(body: dict[str, Any]) -> None:
    decoded = decoder_for(Model).decode(json.dumps(body))
    assert Model.from_dict(body) == decoded
    assert decoder_for(Model).decode(decoded.to_json()) == decoded
    assert type(decoded.default_example) is ExamplePrediction
    assert type(decoded.latest_version) is LatestVersion


def test_wrong_types_still_fail() -> None:
    # Lenient about missing fields, not about a field of the wrong type.
    with pytest.raises(msgspec.ValidationError, match="latest_version"):
        decoder_for(Model).decode(b'{"latest_version": {"id": ["v"]}}')
    with pytest.raises(msgspec.ValidationError, match="default_example"):
        decoder_for(Model).decode(b'{"default_example": []}')


def test_a_prediction_and_a_version_still_need_their_ids() -> None:
    # Only the open objects relax it: a prediction response without an id is not a prediction,
    # nor is a version response (versions.get, versions.list) without one a version.
    with pytest.raises(msgspec.ValidationError, match="id"):
        decoder_for(Prediction).decode(b'{"status": "starting"}')
    with pytest.raises(msgspec.ValidationError, match="id"):
        decoder_for(Version).decode(b'{"cog_version": "0.9.4"}')
    with pytest.raises(msgspec.ValidationError, match="id"):
        decoder_for(Page[Version]).decode(b'{"next": null, "results": [{}]}')
    assert decoder_for(LatestVersion).decode(b"{}") == LatestVersion()


def test_versions_get_without_an_id_is_an_error(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/models/acme/hot-dog/versions/v1").respond_with_json(
        {"cog_version": "0.9.4"}
    )
    with pytest.raises(replicate.APIResponseValidationError, match="missing required field `id`"):
        client.models.versions.get(model_owner="acme", model_name="hot-dog", version_id="v1")
