"""What can be run: models, their versions, deployments, collections and hardware.

Models defined in Python (``emu.registry``) appear as public models of their owner, each with
the one version its predictor describes. Models created through ``POST /v1/models`` live in
the state (kind ``"model"``) and have no version until a training adds one
(:meth:`Catalog.add_version`, kind ``"version"``); a registry model may also gain trained
versions. Metadata changed with ``PATCH`` on a registry model is kept in the state too, as an
overlay on what its predictor says. Deployments (kind ``"deployment"``) point at a version.

The JSON shapes are the API's (``models.get``, ``models.versions.get``, ``deployments.get``,
``collections.get``, ``hardware.list``, ``account.get``).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from .state import State
from .wire import HTTPError

__all__ = ["HARDWARE", "Catalog", "Version", "iso_time"]

#: ``GET /v1/hardware``: the SKUs models and deployments may name.
HARDWARE: list[dict[str, str]] = [
    {"sku": "cpu", "name": "CPU"},
    {"sku": "gpu-t4", "name": "Nvidia T4 GPU"},
    {"sku": "gpu-a40-small", "name": "Nvidia A40 GPU"},
    {"sku": "gpu-a40-large", "name": "Nvidia A40 (Large) GPU"},
    {"sku": "gpu-l40s", "name": "Nvidia L40S GPU"},
    {"sku": "gpu-l40s-2x", "name": "2x Nvidia L40S GPU"},
    {"sku": "gpu-a100-large", "name": "Nvidia A100 (80GB) GPU"},
    {"sku": "gpu-a100-large-2x", "name": "2x Nvidia A100 (80GB) GPU"},
    {"sku": "gpu-h100", "name": "Nvidia H100 GPU"},
]
_SKUS = frozenset(h["sku"] for h in HARDWARE)

#: When the versions of registry models were "pushed": a fixed time, so that their JSON is the
#: same in every run.
_REGISTRY_CREATED_AT = "2024-01-01T00:00:00.000000Z"

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")

_MODEL_FIELDS = ("description", "github_url", "paper_url", "license_url", "cover_image_url")
_UPDATABLE = ("description", "github_url", "paper_url", "license_url", "readme", "weights_url")


class PredictorLike(Protocol):
    """What the catalog reads of a predictor (see ``predictors.Predictor``)."""

    owner: str
    name: str
    ref: str
    description: str | None
    version_id: str
    openapi_schema: dict[str, Any]
    cog_version: str


class RegistryLike(Protocol):
    def get(self, ref: str) -> Any: ...

    def by_version(self, version_id: str) -> Any: ...

    def all(self) -> Iterable[Any]: ...


def iso_time(seconds: float) -> str:
    """RFC 3339 with microseconds and ``Z``, as the API writes times."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


@dataclass(frozen=True)
class Version:
    """One runnable version of a model: its id, the model it belongs to and the code that
    runs it."""

    id: str
    ref: str
    predictor: Any
    created_at: str
    cog_version: str | None = None
    openapi_schema: dict[str, Any] | None = None

    @property
    def owner(self) -> str:
        return self.ref.partition("/")[0]

    @property
    def name(self) -> str:
        return self.ref.partition("/")[2]

    def as_json(self) -> dict[str, Any]:
        """The API's version object."""
        schema = self.openapi_schema
        if schema is None:
            schema = getattr(self.predictor, "openapi_schema", None)
        cog = self.cog_version or getattr(self.predictor, "cog_version", None)
        return {
            "id": self.id,
            "created_at": self.created_at,
            "cog_version": cog,
            "openapi_schema": schema,
        }


def _not_found(what: str = "Not found.") -> HTTPError:
    return HTTPError(404, what)


def _split_ref(ref: object, field: str) -> tuple[str, str]:
    if not isinstance(ref, str) or ref.count("/") != 1:
        raise HTTPError(422, f"- {field}: must be a model name like owner/name")
    owner, name = ref.split("/")
    return owner, name


class Catalog:
    """Models, versions, deployments, collections and hardware of one emulator."""

    def __init__(
        self,
        state: State,
        registry: RegistryLike,
        *,
        clock: Callable[[], float] = time.time,
        account: dict[str, Any] | None = None,
    ) -> None:
        self.state = state
        self.registry = registry
        self.clock = clock
        #: ``GET /v1/account``; its ``username`` owns deployments and is their releases'
        #: ``created_by``.
        self.account: dict[str, Any] = account or {
            "type": "user",
            "username": "emulator",
            "name": "Replicate Emulator",
            "github_url": None,
        }
        self._lock = threading.RLock()
        self._registry_versions: dict[str, Version] = {}
        #: The predictors of versions added in this process, by version id: they run those
        #: versions even when not registered.
        self._added: dict[str, Any] = {}

    # -- time -------------------------------------------------------------------------------

    def now_iso(self) -> str:
        return iso_time(self.clock())

    # -- versions ---------------------------------------------------------------------------

    def _registry_version(self, predictor: Any) -> Version:
        version = self._registry_versions.get(predictor.version_id)
        if version is None or version.predictor is not predictor:
            version = Version(
                id=predictor.version_id,
                ref=predictor.ref,
                predictor=predictor,
                created_at=getattr(predictor, "created_at", None) or _REGISTRY_CREATED_AT,
                cog_version=getattr(predictor, "cog_version", None),
            )
            self._registry_versions[predictor.version_id] = version
        return version

    def _stored_version(self, doc: dict[str, Any]) -> Version | None:
        """A trained version from its document; None when the code it runs is no longer
        registered (a state file opened without the model's plugin)."""
        predictor = self._added.get(doc["id"])
        if predictor is None:
            predictor = self.registry.by_version(doc.get("predictor_version", ""))
        if predictor is None:
            predictor = self.registry.get(doc.get("predictor_ref", ""))
        if predictor is None:
            return None
        return Version(
            id=doc["id"],
            ref=doc["model"],
            predictor=predictor,
            created_at=doc["created_at"],
            cog_version=doc.get("cog_version"),
            openapi_schema=doc.get("openapi_schema"),
        )

    def version(self, version_id: str) -> Version | None:
        """The version with this id, of any model."""
        if not isinstance(version_id, str):
            return None
        doc = self.state.get("version", version_id)
        if doc is not None:
            return self._stored_version(doc)
        predictor = self.registry.by_version(version_id)
        return None if predictor is None else self._registry_version(predictor)

    def versions(self, owner: str, name: str) -> list[Version]:
        """A model's versions, newest first; HTTPError 404 when there is no such model."""
        ref = f"{owner}/{name}"
        if not self.has_model(owner, name):
            raise _not_found()
        found: list[Version] = []
        for doc in self.state.list("version"):
            if doc.get("model") == ref:
                version = self._stored_version(doc)
                if version is not None:
                    found.append(version)
        latest = self.registry.get(ref)
        seen = {v.id for v in found}
        registry_versions = [
            self._registry_version(p)
            for p in self.registry.all()
            if p.ref == ref and p.version_id not in seen
        ]
        # Registered later is newer; the registry's current predictor for a ref is its latest.
        registry_versions.reverse()
        registry_versions.sort(key=lambda v: v.predictor is not latest)
        return found + registry_versions

    def model_version(self, owner: str, name: str, version_id: str) -> Version:
        """``GET /v1/models/{owner}/{name}/versions/{id}``: 404 unless the version is the
        model's."""
        version = self.version(version_id)
        if version is None or version.ref != f"{owner}/{name}":
            raise _not_found()
        return version

    def resolve_model(self, owner: str, name: str) -> Version:
        """The latest version of a model, for ``POST /v1/models/{owner}/{name}/predictions``."""
        if not self.has_model(owner, name):
            raise _not_found(f"Model {owner}/{name} not found")
        versions = self.versions(owner, name)
        if not versions:
            raise HTTPError(422, f"Model {owner}/{name} has no versions: push or train one first")
        return versions[0]

    def resolve_deployment(self, owner: str, name: str) -> Version:
        """The version a deployment's current release runs."""
        doc = self.state.get("deployment", f"{owner}/{name}")
        if doc is None:
            raise _not_found(f"Deployment {owner}/{name} not found")
        version = self.version(doc["current_release"]["version"])
        if version is None:
            raise HTTPError(
                422, f"The version of deployment {owner}/{name} is not available anymore"
            )
        return version

    def add_version(self, owner: str, name: str, predictor: Any) -> Version:
        """A new version of ``owner/name`` (a training's result) run by ``predictor``.

        Its id is the predictor's when that is free and the predictor is the model's own;
        otherwise one derived from the destination, the predictor and the time, so that each
        training makes a version of its own.
        """
        ref = f"{owner}/{name}"
        with self._lock:
            if not self.has_model(owner, name):
                raise _not_found("The specified training destination does not exist")
            created_at = self.now_iso()
            version_id = predictor.version_id
            if (
                getattr(predictor, "ref", None) != ref
                or self.state.get("version", version_id) is not None
                or self.registry.by_version(version_id) is not None
            ):
                seed = f"{ref}\n{predictor.version_id}\n{created_at}"
                version_id = hashlib.sha256(seed.encode()).hexdigest()
                while self.version(version_id) is not None:
                    version_id = hashlib.sha256(version_id.encode()).hexdigest()
            doc = {
                "id": version_id,
                "model": ref,
                "created_at": created_at,
                "cog_version": getattr(predictor, "cog_version", None),
                "openapi_schema": predictor.openapi_schema,
                "predictor_ref": predictor.ref,
                "predictor_version": predictor.version_id,
            }
            self._added[version_id] = predictor
            self.state.put("version", version_id, doc)
        return Version(
            version_id, ref, predictor, created_at, doc["cog_version"], doc["openapi_schema"]
        )

    def delete_version(self, owner: str, name: str, version_id: str) -> None:
        """Delete a trained version; registry versions are the code's own and stay."""
        version = self.model_version(owner, name, version_id)
        if self.state.get("version", version.id) is None:
            raise HTTPError(403, "You can only delete versions of models you own")
        for dep in self.state.list("deployment"):
            if dep["current_release"]["version"] == version.id:
                raise HTTPError(
                    409, "You cannot delete a version if it has an associated deployment"
                )
        self.state.delete("version", version.id)

    # -- models -----------------------------------------------------------------------------

    def has_model(self, owner: str, name: str) -> bool:
        ref = f"{owner}/{name}"
        return self.state.get("model", ref) is not None or self.registry.get(ref) is not None

    def _model_doc(self, owner: str, name: str) -> dict[str, Any] | None:
        """The model's stored metadata merged over its predictor's, or None."""
        ref = f"{owner}/{name}"
        stored = self.state.get("model", ref)
        predictor = self.registry.get(ref)
        if predictor is None and stored is None:
            return None
        doc: dict[str, Any] = {
            "owner": owner,
            "name": name,
            "description": None,
            "visibility": "public",
            "github_url": None,
            "paper_url": None,
            "license_url": None,
            "cover_image_url": None,
            "weights_url": None,
            "readme": None,
            "created_at": _REGISTRY_CREATED_AT,
            "run_count": 0,
        }
        if predictor is not None:
            doc["description"] = getattr(predictor, "description", None)
            doc["readme"] = getattr(predictor, "readme", None)
        if stored is not None:
            doc.update(stored)
        return doc

    def model(self, owner: str, name: str) -> dict[str, Any]:
        """``GET /v1/models/{owner}/{name}``; HTTPError 404 when unknown."""
        doc = self._model_doc(owner, name)
        if doc is None:
            raise _not_found()
        return self._model_json(doc)

    def _model_json(self, doc: dict[str, Any]) -> dict[str, Any]:
        owner, name = doc["owner"], doc["name"]
        versions = self.versions(owner, name)
        return {
            "url": f"https://replicate.com/{owner}/{name}",
            "owner": owner,
            "name": name,
            "description": doc.get("description"),
            "visibility": doc.get("visibility", "public"),
            "github_url": doc.get("github_url"),
            "paper_url": doc.get("paper_url"),
            "license_url": doc.get("license_url"),
            "run_count": doc.get("run_count", 0),
            "cover_image_url": doc.get("cover_image_url"),
            "default_example": None,
            "is_official": False,
            "created_at": doc.get("created_at"),
            "latest_version": versions[0].as_json() if versions else None,
        }

    def models(
        self, sort_by: str = "latest_version_created_at", sort_direction: str = "desc"
    ) -> list[dict[str, Any]]:
        """``GET /v1/models``: every model, registry and created ones alike."""
        if sort_by not in ("latest_version_created_at", "model_created_at"):
            raise HTTPError(
                400,
                f"Invalid sort_by {sort_by!r}: use model_created_at or latest_version_created_at",
            )
        if sort_direction not in ("asc", "desc"):
            raise HTTPError(400, f"Invalid sort_direction {sort_direction!r}: use asc or desc")
        refs: dict[str, None] = {}
        for doc in self.state.list("model"):
            refs[f"{doc['owner']}/{doc['name']}"] = None
        for predictor in self.registry.all():
            refs[predictor.ref] = None
        models = []
        for ref in refs:
            owner, name = ref.split("/", 1)
            found = self._model_doc(owner, name)
            if found is not None:
                models.append(self._model_json(found))

        def key(model: dict[str, Any]) -> tuple[str, str]:
            if sort_by == "model_created_at":
                when = model["created_at"] or ""
            else:
                latest = model["latest_version"]
                when = latest["created_at"] if latest else ""
            return (when, f"{model['owner']}/{model['name']}")

        models.sort(key=key, reverse=sort_direction == "desc")
        return models

    def create_model(self, body: Any) -> dict[str, Any]:
        """``POST /v1/models``."""
        if not isinstance(body, dict):
            raise HTTPError(400, "The request body must be a JSON object")
        missing = [f for f in ("owner", "name", "visibility", "hardware") if not body.get(f)]
        if missing:
            raise HTTPError(
                422, "\n".join(f"- {field}: This field is required." for field in missing)
            )
        owner, name = body["owner"], body["name"]
        for field in ("owner", "name"):
            value = body[field]
            if not isinstance(value, str) or not _NAME.match(value) or len(value) > 100:
                raise HTTPError(
                    422,
                    f"- {field}: may contain only lowercase letters, digits, '-', '_' and '.'",
                )
        if body["visibility"] not in ("public", "private"):
            raise HTTPError(422, "- visibility: must be 'public' or 'private'")
        if body["hardware"] not in _SKUS:
            raise HTTPError(422, f"- hardware: unknown hardware SKU {body['hardware']!r}")
        for field in _MODEL_FIELDS:
            if body.get(field) is not None and not isinstance(body[field], str):
                raise HTTPError(422, f"- {field}: must be a string")
        ref = f"{owner}/{name}"
        with self._lock:
            if self.has_model(owner, name):
                raise HTTPError(409, f"A model named {ref} already exists")
            doc: dict[str, Any] = {
                "owner": owner,
                "name": name,
                "visibility": body["visibility"],
                "hardware": body["hardware"],
                "created_at": self.now_iso(),
                "run_count": 0,
                "readme": None,
                "weights_url": None,
            }
            for field in _MODEL_FIELDS:
                doc[field] = body.get(field)
            self.state.put("model", ref, doc)
        return self._model_json(doc)

    def update_model(self, owner: str, name: str, body: Any) -> dict[str, Any]:
        """``PATCH /v1/models/{owner}/{name}``: only the fields sent change."""
        if not isinstance(body, dict):
            raise HTTPError(400, "The request body must be a JSON object")
        unknown = sorted(set(body) - set(_UPDATABLE))
        if unknown:
            raise HTTPError(
                422, "\n".join(f"- {field}: This field cannot be updated." for field in unknown)
            )
        for field, value in body.items():
            if value is not None and not isinstance(value, str):
                raise HTTPError(422, f"- {field}: must be a string")
        ref = f"{owner}/{name}"
        with self._lock:
            current = self._model_doc(owner, name)
            if current is None:
                raise _not_found()
            stored = dict(self.state.get("model", ref) or {"owner": owner, "name": name})
            stored.update(body)
            self.state.put("model", ref, stored)
            current.update(body)
        return self._model_json(current)

    def delete_model(self, owner: str, name: str) -> None:
        """``DELETE /v1/models/{owner}/{name}``: created models with no versions left."""
        ref = f"{owner}/{name}"
        with self._lock:
            if not self.has_model(owner, name):
                raise _not_found()
            stored = self.state.get("model", ref)
            if self.registry.get(ref) is not None or stored is None:
                raise HTTPError(403, "You can only delete models you own")
            if stored.get("visibility") != "private":
                raise HTTPError(403, "You can only delete private models")
            if self.versions(owner, name):
                raise HTTPError(
                    409,
                    "You can only delete models that have no versions: "
                    "delete the model's versions first",
                )
            self.state.delete("model", ref)

    def readme(self, owner: str, name: str) -> str:
        """``GET /v1/models/{owner}/{name}/readme``: the README set with ``PATCH``, or for a
        model defined in Python one made from its description."""
        doc = self._model_doc(owner, name)
        if doc is None:
            raise _not_found()
        if doc.get("readme"):
            return str(doc["readme"])
        if self.registry.get(f"{owner}/{name}") is None:
            raise _not_found("This model has no README")
        text = f"# {owner}/{name}\n"
        if doc.get("description"):
            text += f"\n{doc['description']}\n"
        return text

    def search(self, text: str) -> list[tuple[dict[str, Any], float]]:
        """Models whose name, description or README contain the words of ``text``, best
        first, each with its score (the share of the words found, the name counting
        double)."""
        words = [w for w in re.split(r"\W+", text.lower()) if w]
        if not words:
            return []
        scored = []
        for model in self.models():
            ref = f"{model['owner']}/{model['name']}".lower()
            doc = self._model_doc(model["owner"], model["name"]) or {}
            body = " ".join(
                str(doc.get(field) or "") for field in ("description", "readme")
            ).lower()
            score = 0.0
            for word in words:
                if word in ref:
                    score += 2.0
                elif word in body:
                    score += 1.0
            if score:
                scored.append((model, score / (2.0 * len(words))))
        scored.sort(key=lambda pair: -pair[1])
        return scored

    # -- deployments ------------------------------------------------------------------------

    def _created_by(self) -> dict[str, Any]:
        return {k: v for k, v in self.account.items() if v is not None}

    def _release_version(self, model: str, version_id: object) -> Version:
        owner, name = _split_ref(model, "model")
        if not self.has_model(owner, name):
            raise _not_found(f"Model {model} not found")
        if not isinstance(version_id, str) or not _VERSION_ID.match(version_id):
            raise HTTPError(422, "- version: must be a 64-character version id")
        version = self.version(version_id)
        if version is None or version.ref != model:
            raise HTTPError(422, f"- version: {version_id} is not a version of {model}")
        return version

    @staticmethod
    def _check_scaling(hardware: object, min_instances: object, max_instances: object) -> None:
        if hardware not in _SKUS:
            raise HTTPError(422, f"- hardware: unknown hardware SKU {hardware!r}")
        for field, value, top in (
            ("min_instances", min_instances, 5),
            ("max_instances", max_instances, 20),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise HTTPError(422, f"- {field}: must be an integer from 0 to {top}")
        assert isinstance(min_instances, int) and isinstance(max_instances, int)
        if min_instances > max_instances:
            raise HTTPError(422, "- max_instances: must be at least min_instances")

    def deployment(self, owner: str, name: str) -> dict[str, Any]:
        doc = self.state.get("deployment", f"{owner}/{name}")
        if doc is None:
            raise _not_found()
        return doc

    def deployments(self) -> list[dict[str, Any]]:
        """Every deployment, newest first."""
        return list(self.state.list("deployment"))

    def create_deployment(self, body: Any) -> dict[str, Any]:
        """``POST /v1/deployments``: release 1 of a new deployment of the account."""
        if not isinstance(body, dict):
            raise HTTPError(400, "The request body must be a JSON object")
        fields = ("name", "model", "version", "hardware", "min_instances", "max_instances")
        missing = [f for f in fields if body.get(f) is None]
        if missing:
            raise HTTPError(
                422, "\n".join(f"- {field}: This field is required." for field in missing)
            )
        name = body["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise HTTPError(
                422, "- name: may contain only lowercase letters, digits, '-', '_' and '.'"
            )
        self._check_scaling(body["hardware"], body["min_instances"], body["max_instances"])
        version = self._release_version(body["model"], body["version"])
        owner = self.account["username"]
        key = f"{owner}/{name}"
        with self._lock:
            if self.state.get("deployment", key) is not None:
                raise HTTPError(409, f"A deployment named {key} already exists")
            doc = {
                "owner": owner,
                "name": name,
                "current_release": {
                    "number": 1,
                    "model": version.ref,
                    "version": version.id,
                    "created_at": self.now_iso(),
                    "created_by": self._created_by(),
                    "configuration": {
                        "hardware": body["hardware"],
                        "min_instances": body["min_instances"],
                        "max_instances": body["max_instances"],
                    },
                },
            }
            self.state.put("deployment", key, doc)
        return doc

    def update_deployment(self, owner: str, name: str, body: Any) -> dict[str, Any]:
        """``PATCH /v1/deployments/{owner}/{name}``: a new release with the fields sent
        changed; a body that changes nothing leaves the release as it is."""
        if not isinstance(body, dict):
            raise HTTPError(400, "The request body must be a JSON object")
        allowed = ("version", "hardware", "min_instances", "max_instances")
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            raise HTTPError(
                422, "\n".join(f"- {field}: This field cannot be updated." for field in unknown)
            )
        key = f"{owner}/{name}"
        with self._lock:
            doc = self.deployment(owner, name)
            release = doc["current_release"]
            config = dict(release["configuration"])
            for field in ("hardware", "min_instances", "max_instances"):
                if body.get(field) is not None:
                    config[field] = body[field]
            self._check_scaling(
                config["hardware"], config["min_instances"], config["max_instances"]
            )
            version_id = release["version"]
            if body.get("version") is not None:
                version_id = self._release_version(release["model"], body["version"]).id
            if config == release["configuration"] and version_id == release["version"]:
                return doc
            new = {
                "owner": doc["owner"],
                "name": doc["name"],
                "current_release": {
                    "number": release["number"] + 1,
                    "model": release["model"],
                    "version": version_id,
                    "created_at": self.now_iso(),
                    "created_by": self._created_by(),
                    "configuration": config,
                },
            }
            self.state.put("deployment", key, new)
        return new

    def delete_deployment(self, owner: str, name: str) -> None:
        if not self.state.delete("deployment", f"{owner}/{name}"):
            raise _not_found()

    # -- collections ------------------------------------------------------------------------

    def _builtin_collections(self) -> list[dict[str, Any]]:
        predictors = list(self.registry.all())
        refs = list(dict.fromkeys(p.ref for p in predictors))
        streaming = list(dict.fromkeys(p.ref for p in predictors if getattr(p, "streams", False)))
        images = list(dict.fromkeys(p.ref for p in predictors if _outputs_image(p)))
        return [
            {
                "name": "Emulator models",
                "slug": "emulator-models",
                "description": "Every model this emulator runs",
                "full_description": None,
                "models": refs,
            },
            {
                "name": "Streaming language models",
                "slug": "streaming-language-models",
                "description": "Language models that support streaming responses. "
                "See https://replicate.com/docs/streaming",
                "full_description": None,
                "models": streaming,
            },
            {
                "name": "Text to image",
                "slug": "text-to-image",
                "description": "Models that generate images from text prompts",
                "full_description": None,
                "models": images,
            },
        ]

    def add_collection(
        self,
        slug: str,
        name: str,
        description: str,
        models: Iterable[str],
        full_description: str | None = None,
    ) -> None:
        """A collection of one's own (kept in the state), or one that replaces a built-in
        one with the same slug."""
        self.state.put(
            "collection",
            slug,
            {
                "name": name,
                "slug": slug,
                "description": description,
                "full_description": full_description,
                "models": list(models),
            },
        )

    def _collections(self) -> list[dict[str, Any]]:
        stored = self.state.list("collection")
        slugs = {c["slug"] for c in stored}
        return stored + [c for c in self._builtin_collections() if c["slug"] not in slugs]

    def collections(self) -> list[dict[str, Any]]:
        """``GET /v1/collections``: name, slug and description of each."""
        return [
            {"name": c["name"], "slug": c["slug"], "description": c["description"]}
            for c in self._collections()
        ]

    def collection_refs(self) -> list[dict[str, Any]]:
        """Each collection with the names (``owner/name``) of its models, for search."""
        return self._collections()

    def collection(self, slug: str) -> dict[str, Any]:
        """``GET /v1/collections/{slug}``, its models in full."""
        for c in self._collections():
            if c["slug"] == slug:
                models = []
                for ref in c["models"]:
                    owner, _, name = ref.partition("/")
                    doc = self._model_doc(owner, name)
                    if doc is not None:
                        # A collection lists its models without their creation time, as the
                        # API does.
                        model = self._model_json(doc)
                        del model["created_at"]
                        models.append(model)
                return {**c, "models": models}
        raise _not_found()

    # -- hardware ---------------------------------------------------------------------------

    def hardware(self) -> list[dict[str, str]]:
        return [dict(h) for h in HARDWARE]


def _outputs_image(predictor: Any) -> bool:
    """Whether a predictor's output is a file (``format: uri``), or files."""
    schema = getattr(predictor, "openapi_schema", None) or {}
    output = schema.get("components", {}).get("schemas", {}).get("Output", {})
    if output.get("type") == "array":
        output = output.get("items", {})
    return bool(output.get("format") == "uri")
