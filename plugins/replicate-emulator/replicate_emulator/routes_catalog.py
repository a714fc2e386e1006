"""Routes of the catalog: models, versions, deployments, collections, hardware, search,
account and the webhook signing secret. Each handler is a thin layer over ``emu.catalog``
(or ``emu.webhooks`` for the secret), with the API's status codes."""

from __future__ import annotations

import re
from typing import Any

from .pages import paginate
from .wire import EmuRequest, EmuResponse, HTTPError, Router, json_response

routes = Router()

_WORDS = re.compile(r"\W+")


# -- models ---------------------------------------------------------------------------------


@routes.route("GET", "/v1/models")
def list_models(emu: Any, req: EmuRequest) -> Any:
    models = emu.catalog.models(
        req.param("sort_by") or "latest_version_created_at",
        req.param("sort_direction") or "desc",
    )
    return paginate(req, models)


@routes.route("POST", "/v1/models")
def create_model(emu: Any, req: EmuRequest) -> EmuResponse:
    return json_response(201, emu.catalog.create_model(req.json()))


@routes.route("QUERY", "/v1/models")
def search_models(emu: Any, req: EmuRequest) -> Any:
    """``models.search``: the body is the search string itself (``text/plain``)."""
    text = _search_text(req.body)
    return paginate(req, [model for model, _ in emu.catalog.search(text)])


@routes.route("GET", "/v1/models/{owner}/{name}")
def get_model(emu: Any, req: EmuRequest, owner: str, name: str) -> Any:
    return emu.catalog.model(owner, name)


@routes.route("PATCH", "/v1/models/{owner}/{name}")
def update_model(emu: Any, req: EmuRequest, owner: str, name: str) -> Any:
    return emu.catalog.update_model(owner, name, req.json())


@routes.route("DELETE", "/v1/models/{owner}/{name}")
def delete_model(emu: Any, req: EmuRequest, owner: str, name: str) -> EmuResponse:
    emu.catalog.delete_model(owner, name)
    return EmuResponse(204)


@routes.route("GET", "/v1/models/{owner}/{name}/examples")
def list_examples(emu: Any, req: EmuRequest, owner: str, name: str) -> Any:
    """Example predictions are picked by a model's author on the website: none here."""
    emu.catalog.model(owner, name)
    return paginate(req, [])


@routes.route("GET", "/v1/models/{owner}/{name}/readme")
def get_readme(emu: Any, req: EmuRequest, owner: str, name: str) -> EmuResponse:
    text = emu.catalog.readme(owner, name)
    return EmuResponse(200, [("Content-Type", "text/plain; charset=utf-8")], text.encode())


@routes.route("GET", "/v1/models/{owner}/{name}/versions")
def list_versions(emu: Any, req: EmuRequest, owner: str, name: str) -> Any:
    return paginate(req, [v.as_json() for v in emu.catalog.versions(owner, name)])


@routes.route("GET", "/v1/models/{owner}/{name}/versions/{version_id}")
def get_version(emu: Any, req: EmuRequest, owner: str, name: str, version_id: str) -> Any:
    return emu.catalog.model_version(owner, name, version_id).as_json()


@routes.route("DELETE", "/v1/models/{owner}/{name}/versions/{version_id}")
def delete_version(
    emu: Any, req: EmuRequest, owner: str, name: str, version_id: str
) -> EmuResponse:
    """The API accepts a version deletion (202) and carries it out later; here at once."""
    emu.catalog.delete_version(owner, name, version_id)
    return EmuResponse(202)


# -- deployments ----------------------------------------------------------------------------


@routes.route("GET", "/v1/deployments")
def list_deployments(emu: Any, req: EmuRequest) -> Any:
    return paginate(req, emu.catalog.deployments())


@routes.route("POST", "/v1/deployments")
def create_deployment(emu: Any, req: EmuRequest) -> Any:
    return emu.catalog.create_deployment(req.json())


@routes.route("GET", "/v1/deployments/{owner}/{name}")
def get_deployment(emu: Any, req: EmuRequest, owner: str, name: str) -> Any:
    return emu.catalog.deployment(owner, name)


@routes.route("PATCH", "/v1/deployments/{owner}/{name}")
def update_deployment(emu: Any, req: EmuRequest, owner: str, name: str) -> Any:
    return emu.catalog.update_deployment(owner, name, req.json())


@routes.route("DELETE", "/v1/deployments/{owner}/{name}")
def delete_deployment(emu: Any, req: EmuRequest, owner: str, name: str) -> EmuResponse:
    emu.catalog.delete_deployment(owner, name)
    return EmuResponse(204)


# -- collections, hardware, account, webhooks -------------------------------------------------


@routes.route("GET", "/v1/collections")
def list_collections(emu: Any, req: EmuRequest) -> Any:
    return paginate(req, emu.catalog.collections())


@routes.route("GET", "/v1/collections/{slug}")
def get_collection(emu: Any, req: EmuRequest, slug: str) -> Any:
    return emu.catalog.collection(slug)


@routes.route("GET", "/v1/hardware")
def list_hardware(emu: Any, req: EmuRequest) -> Any:
    """A bare JSON array, not a page."""
    return emu.catalog.hardware()


@routes.route("GET", "/v1/account")
def get_account(emu: Any, req: EmuRequest) -> Any:
    return dict(emu.catalog.account)


@routes.route("GET", "/v1/webhooks/default/secret")
def get_webhook_secret(emu: Any, req: EmuRequest) -> Any:
    return {"key": emu.webhooks.secret}


# -- search ---------------------------------------------------------------------------------


@routes.route("GET", "/v1/search")
def search(emu: Any, req: EmuRequest) -> Any:
    """``GET /v1/search``: models (with metadata), collections and documentation pages."""
    query = req.param("query")
    if query is None or not query.strip():
        raise HTTPError(400, 'Query parameter "query" is required')
    raw_limit = req.param("limit") or "20"
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 50:
        raise HTTPError(400, 'Query parameter "limit" must be an integer from 1 to 50')
    collections = emu.catalog.collection_refs()
    models = []
    for model, score in emu.catalog.search(query)[:limit]:
        ref = f"{model['owner']}/{model['name']}"
        models.append(
            {
                "model": model,
                "metadata": {
                    "generated_description": model["description"],
                    "tags": [c["slug"] for c in collections if ref in c["models"]],
                    "score": score,
                },
            }
        )
    words = [w for w in _WORDS.split(query.lower()) if w]
    found_collections = [
        {
            "name": c["name"],
            "slug": c["slug"],
            "description": c["description"],
            "models": list(c["models"]),
        }
        for c in collections
        if any(w in f"{c['slug']} {c['name']} {c['description']}".lower() for w in words)
    ]
    return {"query": query, "models": models, "collections": found_collections, "pages": []}


def _search_text(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, "The search query must be UTF-8 text") from None
    if not text.strip():
        raise HTTPError(400, "The request body must be the search query, as text/plain")
    return text
