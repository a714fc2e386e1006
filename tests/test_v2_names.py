"""Every public name of the official v2 SDK imports from this one.

``V2_NAMES`` and ``V2_PARAMS`` were taken once from ``replicate==2.0.0b4`` (installed in its own
virtualenv, never in this project's) by ``tests/extract_v2_names.py``, which says how names were
chosen: the public names of ``replicate``, ``replicate.pagination``, ``replicate.types`` and
every submodule of ``replicate.types``, recursively; and the required and optional keys of v2's
parameter TypedDicts. Rerun it and paste its output here when targeting a newer v2.

A name missing here must be in ``UNTIL_ASYNC`` or ``NOT_OFFERED``, and every name in those must
be missing: the test fails both when a listed name appears (update the lists) and when any other
name goes missing.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

import pytest

import replicate
import replicate.pagination
import replicate.types
from replicate._default import SETTINGS

V2_NAMES = {
    "replicate": [
        "APIConnectionError",
        "APIError",
        "APIResponse",
        "APIResponseValidationError",
        "APIStatusError",
        "APITimeoutError",
        "AsyncAPIResponse",
        "AsyncClient",
        "AsyncFileOutput",
        "AsyncReplicate",
        "AsyncStream",
        "AuthenticationError",
        "BadRequestError",
        "BaseModel",
        "Client",
        "ConflictError",
        "DEFAULT_CONNECTION_LIMITS",
        "DEFAULT_MAX_RETRIES",
        "DEFAULT_TIMEOUT",
        "DefaultAioHttpClient",
        "DefaultAsyncHttpxClient",
        "DefaultHttpxClient",
        "FileOutput",
        "InternalServerError",
        "Model",
        "ModelVersionIdentifier",
        "NOT_GIVEN",
        "NoneType",
        "NotFoundError",
        "NotGiven",
        "Omit",
        "PermissionDeniedError",
        "ProxiesTypes",
        "RateLimitError",
        "Replicate",
        "ReplicateError",
        "RequestOptions",
        "Stream",
        "Timeout",
        "Transport",
        "UnprocessableEntityError",
        "Version",
        "__title__",
        "__version__",
        "account",
        "base_url",
        "bearer_token",
        "collections",
        "default_headers",
        "default_query",
        "deployments",
        "file_from_path",
        "files",
        "get_path_url",
        "hardware",
        "http_client",
        "lib",
        "max_retries",
        "models",
        "not_given",
        "omit",
        "predictions",
        "resources",
        "run",
        "stream",
        "timeout",
        "trainings",
        "types",
        "use",
        "webhooks",
    ],
    "replicate.pagination": [
        "AsyncCursorURLPage",
        "AsyncCursorURLPageWithCreatedFilters",
        "SyncCursorURLPage",
        "SyncCursorURLPageWithCreatedFilters",
    ],
    "replicate.types": [
        "AccountGetResponse",
        "ClientSearchParams",
        "CollectionGetResponse",
        "CollectionListResponse",
        "DeploymentCreateParams",
        "DeploymentCreateResponse",
        "DeploymentGetResponse",
        "DeploymentListResponse",
        "DeploymentUpdateParams",
        "DeploymentUpdateResponse",
        "FileCreateParams",
        "FileCreateResponse",
        "FileDownloadParams",
        "FileGetResponse",
        "FileListResponse",
        "HardwareListResponse",
        "ModelCreateParams",
        "ModelCreateResponse",
        "ModelGetResponse",
        "ModelListParams",
        "ModelListResponse",
        "ModelSearchParams",
        "ModelSearchResponse",
        "ModelUpdateParams",
        "ModelUpdateResponse",
        "Prediction",
        "PredictionCreateParams",
        "PredictionCreateParamsWithoutVersion",
        "PredictionListParams",
        "SearchResponse",
        "TrainingCancelResponse",
        "TrainingCreateParams",
        "TrainingCreateResponse",
        "TrainingGetResponse",
        "TrainingListResponse",
    ],
    "replicate.types.account_get_response": ["AccountGetResponse"],
    "replicate.types.client_search_params": ["ClientSearchParams"],
    "replicate.types.collection_get_response": ["CollectionGetResponse", "Model"],
    "replicate.types.collection_list_response": ["CollectionListResponse"],
    "replicate.types.deployment_create_params": ["DeploymentCreateParams"],
    "replicate.types.deployment_create_response": [
        "CurrentRelease",
        "CurrentReleaseConfiguration",
        "CurrentReleaseCreatedBy",
        "DeploymentCreateResponse",
    ],
    "replicate.types.deployment_get_response": [
        "CurrentRelease",
        "CurrentReleaseConfiguration",
        "CurrentReleaseCreatedBy",
        "DeploymentGetResponse",
    ],
    "replicate.types.deployment_list_response": [
        "CurrentRelease",
        "CurrentReleaseConfiguration",
        "CurrentReleaseCreatedBy",
        "DeploymentListResponse",
    ],
    "replicate.types.deployment_update_params": ["DeploymentUpdateParams"],
    "replicate.types.deployment_update_response": [
        "CurrentRelease",
        "CurrentReleaseConfiguration",
        "CurrentReleaseCreatedBy",
        "DeploymentUpdateResponse",
    ],
    "replicate.types.deployments": ["PredictionCreateParams"],
    "replicate.types.deployments.prediction_create_params": ["PredictionCreateParams"],
    "replicate.types.file_create_params": ["FileCreateParams"],
    "replicate.types.file_create_response": ["Checksums", "FileCreateResponse", "URLs"],
    "replicate.types.file_download_params": ["FileDownloadParams"],
    "replicate.types.file_get_response": ["Checksums", "FileGetResponse", "URLs"],
    "replicate.types.file_list_response": ["Checksums", "FileListResponse", "URLs"],
    "replicate.types.hardware_list_response": ["HardwareListResponse", "HardwareListResponseItem"],
    "replicate.types.model_create_params": ["ModelCreateParams"],
    "replicate.types.model_create_response": ["ModelCreateResponse"],
    "replicate.types.model_get_response": ["ModelGetResponse"],
    "replicate.types.model_list_params": ["ModelListParams"],
    "replicate.types.model_list_response": ["ModelListResponse"],
    "replicate.types.model_search_params": ["ModelSearchParams"],
    "replicate.types.model_search_response": ["ModelSearchResponse"],
    "replicate.types.model_update_params": ["ModelUpdateParams"],
    "replicate.types.model_update_response": ["ModelUpdateResponse"],
    "replicate.types.models": [
        "PredictionCreateParams",
        "ReadmeGetResponse",
        "VersionGetResponse",
        "VersionListResponse",
    ],
    "replicate.types.models.prediction_create_params": ["PredictionCreateParams"],
    "replicate.types.models.readme_get_response": ["ReadmeGetResponse"],
    "replicate.types.models.version_get_response": ["VersionGetResponse"],
    "replicate.types.models.version_list_response": ["VersionListResponse"],
    "replicate.types.prediction": ["Metrics", "Prediction", "URLs"],
    "replicate.types.prediction_create_params": [
        "PredictionCreateParams",
        "PredictionCreateParamsWithoutVersion",
    ],
    "replicate.types.prediction_list_params": ["PredictionListParams"],
    "replicate.types.search_response": [
        "Collection",
        "Model",
        "ModelMetadata",
        "ModelModel",
        "Page",
        "SearchResponse",
    ],
    "replicate.types.training_cancel_response": [
        "Metrics",
        "Output",
        "TrainingCancelResponse",
        "URLs",
    ],
    "replicate.types.training_create_params": ["TrainingCreateParams"],
    "replicate.types.training_create_response": [
        "Metrics",
        "Output",
        "TrainingCreateResponse",
        "URLs",
    ],
    "replicate.types.training_get_response": ["Metrics", "Output", "TrainingGetResponse", "URLs"],
    "replicate.types.training_list_response": ["Metrics", "Output", "TrainingListResponse", "URLs"],
    "replicate.types.webhooks": [],
    "replicate.types.webhooks.default": ["SecretGetResponse"],
    "replicate.types.webhooks.default.secret_get_response": ["SecretGetResponse"],
}
V2_PARAMS = {
    "replicate.types.client_search_params.ClientSearchParams": (["query"], ["limit"]),
    "replicate.types.deployment_create_params.DeploymentCreateParams": (
        ["hardware", "max_instances", "min_instances", "model", "name", "version"],
        [],
    ),
    "replicate.types.deployment_update_params.DeploymentUpdateParams": (
        ["deployment_name", "deployment_owner"],
        ["hardware", "max_instances", "min_instances", "version"],
    ),
    "replicate.types.deployments.prediction_create_params.PredictionCreateParams": (
        ["deployment_name", "deployment_owner", "input"],
        ["cancel_after", "prefer", "stream", "webhook", "webhook_events_filter"],
    ),
    "replicate.types.file_create_params.FileCreateParams": (
        ["content"],
        ["filename", "metadata", "type"],
    ),
    "replicate.types.file_download_params.FileDownloadParams": (
        ["expiry", "file_id", "owner", "signature"],
        [],
    ),
    "replicate.types.model_create_params.ModelCreateParams": (
        ["hardware", "name", "owner", "visibility"],
        ["cover_image_url", "description", "github_url", "license_url", "paper_url"],
    ),
    "replicate.types.model_list_params.ModelListParams": ([], ["sort_by", "sort_direction"]),
    "replicate.types.model_search_params.ModelSearchParams": (["body"], []),
    "replicate.types.model_update_params.ModelUpdateParams": (
        ["model_name", "model_owner"],
        ["description", "github_url", "license_url", "paper_url", "readme", "weights_url"],
    ),
    "replicate.types.models.prediction_create_params.PredictionCreateParams": (
        ["input", "model_name", "model_owner"],
        ["cancel_after", "prefer", "stream", "webhook", "webhook_events_filter"],
    ),
    "replicate.types.prediction_create_params.PredictionCreateParams": (
        ["input", "version"],
        ["cancel_after", "prefer", "stream", "webhook", "webhook_events_filter"],
    ),
    "replicate.types.prediction_create_params.PredictionCreateParamsWithoutVersion": (
        ["input"],
        ["cancel_after", "prefer", "stream", "webhook", "webhook_events_filter"],
    ),
    "replicate.types.prediction_list_params.PredictionListParams": (
        [],
        ["created_after", "created_before"],
    ),
    "replicate.types.training_create_params.TrainingCreateParams": (
        ["destination", "input", "model_name", "model_owner", "version_id"],
        ["webhook", "webhook_events_filter"],
    ),
}

#: Names of the async client, which this SDK does not have yet.
UNTIL_ASYNC: set[tuple[str, str]] = set()

_HTTPX = "httpx is not a dependency: the transport is a plugin (transport=, verify=, proxy=)"

#: Names that cannot be offered honestly, each with the reason.
NOT_OFFERED = {
    ("replicate", "DefaultHttpxClient"): "an httpx.Client for http_client=; " + _HTTPX,
    ("replicate", "DefaultAsyncHttpxClient"): "an httpx.AsyncClient for http_client=; " + _HTTPX,
    ("replicate", "DefaultAioHttpClient"): "an aiohttp-backed httpx client; " + _HTTPX,
    ("replicate", "DEFAULT_CONNECTION_LIMITS"): "an httpx.Limits; " + _HTTPX,
    ("replicate", "ProxiesTypes"): "httpx's proxy types for DefaultHttpxClient; " + _HTTPX,
    ("replicate", "Transport"): (
        "httpx.BaseTransport (handle_request); a transport here is a replicate.SyncTransport "
        "(send), so an alias would let a v2 transport subclass fail only when used"
    ),
    ("replicate", "RequestOptions"): (
        "the options= dict of v2's raw verbs (headers, params, extra_json, ...), which the raw "
        "verbs here do not take: client.get(url, headers=..., params=...)"
    ),
    ("replicate", "Stream"): (
        "a wrapper of an httpx SSE response that no public v2 method returns; streams here are "
        "generators of replicate.ServerSentEvent (client.stream, predictions.stream)"
    ),
    ("replicate", "AsyncStream"): "the async Stream; see Stream",
    ("replicate", "lib"): (
        "v2's private helpers (lib._files, lib._models, ...; lib.cog finds the token in a Cog "
        "scope, which the client here does itself); what v2 exports from them is at the top level"
    ),
    ("replicate", "http_client"): "a module-level setting of v2's default client; " + _HTTPX,
}


def _lookup(module: str, name: str) -> Any:
    """What ``from module import name`` gives: the attribute, or else the submodule."""
    mod = importlib.import_module(module)
    try:
        return getattr(mod, name)
    except AttributeError:
        pass
    try:
        return importlib.import_module(f"{module}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{module}.{name}":
            raise
        raise AttributeError(f"{module}.{name}") from None


def test_every_v2_name_imports(
    client: replicate.Replicate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # replicate.predictions & co. are the default client's resources: use the loopback client.
    monkeypatch.setitem(
        replicate._default._clients, False, (client, replicate._default._settings())
    )
    missing = set()
    for module, names in V2_NAMES.items():
        importlib.import_module(module)  # every v2 module imports, e.g. replicate.types.models
        for name in names:
            try:
                _lookup(module, name)
            except AttributeError:
                missing.add((module, name))
    assert missing == UNTIL_ASYNC | set(NOT_OFFERED)


def test_missing_lists_name_v2_names() -> None:
    assert UNTIL_ASYNC.isdisjoint(NOT_OFFERED)
    for module, name in UNTIL_ASYNC | set(NOT_OFFERED):
        assert name in V2_NAMES[module], (module, name)
    assert all(NOT_OFFERED.values())


def test_star_import_gives_v2s_names() -> None:
    for module, names in V2_NAMES.items():
        declared = importlib.import_module(module).__all__
        for name in declared:
            _lookup(module, name)
        if module in ("replicate", "replicate.types", "replicate.pagination"):
            # v2's names are in __all__ here too, but for the default client's resources
            # (replicate.predictions, ...) and settings (replicate.bearer_token, ...), which are
            # not in v2's __all__ either.
            missing = {(module, n) for n in set(names) - set(declared)}
            missing -= UNTIL_ASYNC | set(NOT_OFFERED)
            assert {n for _, n in missing} <= replicate._CLIENT_RESOURCES | set(SETTINGS), module
        else:
            assert sorted(declared) == names, module


def test_aliases_are_our_objects() -> None:
    import replicate.types.deployment_get_response as deployment_get
    import replicate.types.hardware_list_response as hardware_list
    import replicate.types.model_get_response as model_get
    import replicate.types.models as models
    import replicate.types.prediction as prediction
    import replicate.types.search_response as search
    import replicate.types.webhooks.default as webhooks_default
    from replicate import pagination, types

    assert models.VersionGetResponse is types.Version
    assert models.ReadmeGetResponse is str
    assert model_get.ModelGetResponse is types.Model
    assert prediction.Prediction is types.Prediction
    assert prediction.URLs is types.PredictionURLs
    assert prediction.Metrics is types.PredictionMetrics
    assert search.Model is types.SearchModel and search.ModelModel is types.Model
    assert deployment_get.CurrentReleaseCreatedBy is types.Account
    assert hardware_list.HardwareListResponse == list[types.Hardware]
    assert webhooks_default.SecretGetResponse is types.WebhookSecret
    assert pagination.SyncCursorURLPage is pagination.SyncPage
    assert pagination.SyncCursorURLPageWithCreatedFilters is pagination.SyncPage
    assert replicate.BaseModel is types.ReplicateObject
    assert replicate.Model is types.Model and replicate.Version is types.Version
    assert replicate.Timeout(connect=5, read=60) == replicate.DEFAULT_TIMEOUT
    assert replicate.DEFAULT_MAX_RETRIES == 2
    assert replicate.NoneType is type(None)
    assert replicate.__title__ == "replicate"
    assert replicate.resources is importlib.import_module("replicate.resources")


def test_params_have_v2s_keys_and_fit_our_methods(client: replicate.Replicate) -> None:
    methods = {
        "client_search_params.ClientSearchParams": client.search,
        "deployment_create_params.DeploymentCreateParams": client.deployments.create,
        "deployment_update_params.DeploymentUpdateParams": client.deployments.update,
        "deployments.prediction_create_params.PredictionCreateParams": (
            client.deployments.predictions.create
        ),
        "file_create_params.FileCreateParams": client.files.create,
        "file_download_params.FileDownloadParams": client.files.download,
        "model_create_params.ModelCreateParams": client.models.create,
        "model_list_params.ModelListParams": client.models.list,
        "model_search_params.ModelSearchParams": client.models.search,
        "model_update_params.ModelUpdateParams": client.models.update,
        "models.prediction_create_params.PredictionCreateParams": client.models.predictions.create,
        "prediction_create_params.PredictionCreateParams": client.predictions.create,
        "prediction_create_params.PredictionCreateParamsWithoutVersion": None,
        "prediction_list_params.PredictionListParams": client.predictions.list,
        "training_create_params.TrainingCreateParams": client.trainings.create,
    }
    assert sorted("replicate.types." + k for k in methods) == sorted(V2_PARAMS)
    for qualname, (required, optional) in V2_PARAMS.items():
        module, _, name = qualname.rpartition(".")
        params = getattr(importlib.import_module(module), name)
        assert (sorted(params.__required_keys__), sorted(params.__optional_keys__)) == (
            required,
            optional,
        ), qualname
        method = methods[qualname.removeprefix("replicate.types.")]
        if method is None:
            continue
        signature = inspect.signature(method).parameters
        # Every key is a keyword of the method, and the required keys make a complete call.
        assert set(required) | set(optional) <= set(signature), qualname
        needed = {
            p.name
            for p in signature.values()
            if p.default is p.empty and p.kind is not p.VAR_KEYWORD
        }
        assert needed <= set(required), qualname


def test_model_and_version_identifier_are_references() -> None:
    from replicate._reference import parse_reference

    model = replicate.Model("acme", "hot-dog")  # positional, as v2's replicate.Model
    assert (model.owner, model.name) == ("acme", "hot-dog")
    assert parse_reference(model).path == "/models/acme/hot-dog/predictions"
    ident = replicate.ModelVersionIdentifier.parse("acme/hot-dog:v1")
    assert ident == ("acme", "hot-dog", "v1")
    assert replicate.ModelVersionIdentifier.parse("acme/hot-dog").version is None
    target = parse_reference(ident)
    assert (target.owner, target.name, target.version) == ("acme", "hot-dog", "v1")
    with pytest.raises(ValueError, match="Expected format: owner/name:version"):
        replicate.ModelVersionIdentifier.parse("hot-dog")


def test_file_from_path_is_accepted_by_files_create(
    httpserver: Any, client: replicate.Replicate, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello v2")
    content = replicate.file_from_path(str(path))
    assert content == ("notes.txt", b"hello v2")
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    httpserver.expect_request("/v1/files", method="POST").respond_with_json(
        {"id": "f1", "name": "notes.txt", "created_at": now, "urls": {"get": "https://x/f1"}},
        status=201,
    )
    file = client.files.create(content=content)
    assert file.id == "f1"
    (request, _), *_ = httpserver.log
    body = request.get_data()
    assert b'filename="notes.txt"' in body and b"hello v2" in body


def test_v2_names_keep_import_lazy(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys, replicate\n"
        "assert replicate.__title__ == 'replicate'\n"
        "assert 'msgspec' not in sys.modules, 'msgspec imported eagerly'\n"
        "import replicate.types\n"
        "assert 'replicate.types._params' not in sys.modules, 'params TypedDicts built eagerly'\n"
        "import replicate.types.models\n"
        "assert replicate.types.models.VersionGetResponse is replicate.types.Version\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
