"""Model references: the forms ``run``, ``use`` and ``stream`` accept, and where each one
creates its prediction."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from .types import Deployment, Model, Version

_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_MODEL_REF = re.compile(rf"^(?P<owner>{_NAME})/(?P<name>{_NAME})(?::(?P<version>[0-9a-f]{{64}}))?$")

REFERENCE_FORMS = (
    "'owner/name' (a model), 'owner/name:<64-hex version id>', a bare 64-hex version id, "
    "or a Model, Version or Deployment object"
)

_V2_REF = re.compile(r"^(?P<owner>[^/]+)/(?P<name>[^/:]+)(:(?P<version>.+))?$")


class ModelVersionIdentifier(NamedTuple):
    """v2's reference to a model (``version=None``) or to one of its versions.

    ``run``, ``use`` and ``stream`` accept it, as any object with ``owner`` and ``name``.
    """

    owner: str
    name: str
    version: str | None = None

    @classmethod
    def parse(cls, ref: str) -> ModelVersionIdentifier:
        """Split ``owner/name`` or ``owner/name:version`` into its parts, as v2 does."""
        match = _V2_REF.match(ref)
        if not match:
            raise ValueError(
                f"Invalid reference to model version: {ref}. Expected format: owner/name:version"
            )
        return cls(match["owner"], match["name"], match["version"])


class Target:
    """Where a prediction is created, parsed from a reference."""

    __slots__ = ("_path", "deployment", "name", "owner", "schema", "version")

    def __init__(
        self,
        *,
        owner: str | None = None,
        name: str | None = None,
        version: str | None = None,
        deployment: bool = False,
        schema: dict[str, Any] | None = None,
    ) -> None:
        self.owner = owner
        self.name = name
        self.version = version
        self.deployment = deployment
        #: the version's OpenAPI schema when the reference carried it (a Version object)
        self.schema = schema
        self._path: str | None = None

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = self._make_path()
        return self._path

    def _make_path(self) -> str:
        from urllib.parse import quote

        owner_name = f"{quote(self.owner or '', safe='')}/{quote(self.name or '', safe='')}"
        if self.deployment:
            return f"/deployments/{owner_name}/predictions"
        if self.version is not None:
            return "/predictions"
        return f"/models/{owner_name}/predictions"

    def key(self) -> tuple[Any, ...]:
        """What the reference names: equal keys resolve to the same model version and schema."""
        return (self.owner, self.name, self.version, self.deployment, self.schema is not None)

    def __repr__(self) -> str:
        if self.deployment:
            return f"deployment {self.owner}/{self.name}"
        if self.owner and self.version:
            return f"{self.owner}/{self.name}:{self.version}"
        return self.version or f"{self.owner}/{self.name}"


_parsed: dict[str, Target] = {}


def parse_reference(ref: object) -> Target:
    """A Target from any accepted reference; a ValueError showing the forms otherwise."""
    if isinstance(ref, str):
        cached = _parsed.get(ref)
        if cached is not None:
            return cached
        if len(_parsed) < 1024:
            _parsed[ref] = target = _parse_string(ref)
            return target
        return _parse_string(ref)
    return _parse_object(ref)


def _parse_string(ref: str) -> Target:
    ref_str = ref.strip()
    if _VERSION_ID.match(ref_str):
        return Target(version=ref_str)
    match = _MODEL_REF.match(ref_str)
    if match:
        return Target(owner=match["owner"], name=match["name"], version=match["version"])
    raise ValueError(f"Invalid model reference {ref!r}; expected {REFERENCE_FORMS}")


def _parse_object(ref: object) -> Target:
    if isinstance(ref, Version):
        if not ref.id:
            raise ValueError("the Version object has no id")
        return Target(version=ref.id, schema=ref.openapi_schema)
    if isinstance(ref, Model):
        if not ref.owner or not ref.name:
            raise ValueError("the Model object has no owner/name")
        return Target(owner=ref.owner, name=ref.name)
    if isinstance(ref, Deployment):
        if not ref.owner or not ref.name:
            raise ValueError("the Deployment object has no owner/name")
        return Target(owner=ref.owner, name=ref.name, deployment=True)
    owner = getattr(ref, "owner", None)
    name = getattr(ref, "name", None)
    if isinstance(owner, str) and isinstance(name, str):  # v2's Model / ModelVersionIdentifier
        version = getattr(ref, "version", None) or getattr(ref, "id", None)
        if version is not None and not isinstance(version, str):
            version = getattr(version, "id", None)
        return Target(owner=owner, name=name, version=version or None)
    raise ValueError(f"Invalid model reference {ref!r}; expected {REFERENCE_FORMS}")
