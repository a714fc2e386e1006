"""A model reference resolved: where its predictions are created, and its version's schema.

:func:`resolve` fetches a reference's model or version metadata once per client (the
core's :class:`SchemaCache`), dereferences the schema once and picks out its input and output
schemas once (:class:`Resolved`). ``run`` (for a reference naming a version) and ``use`` both
resolve through it, so a reference is fetched once whichever way it is run.

The fetches are one flow (:func:`resolve_flow`, given the client core); :func:`resolve` is the
flow that goes through the cache, so that concurrent first uses of a reference, in threads or in
tasks, fetch it once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._deadline import NO_DEADLINE, Deadline
from ._drivers import Join
from ._reference import Target, parse_reference
from .exceptions import APIConnectionError
from .types import Deployment, Model, Version

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._drivers import Flow

__all__ = ["Resolved", "SchemaCache", "resolve", "resolve_flow"]


class Resolved:
    """Where to create predictions for a reference, and the version's schemas: the whole
    dereferenced document, and its input and output schemas, each computed once."""

    __slots__ = ("input_schema", "output_schema", "schema", "target")

    def __init__(
        self, target: Target, schema: dict[str, Any] | None, cog_version: str | None = None
    ) -> None:
        self.target = target
        self.schema: dict[str, Any] | None = None
        self.input_schema: dict[str, Any] | None = None
        self.output_schema: dict[str, Any] | None = None
        if schema:
            from ._schema import _component, dereference

            self.schema = dereference(schema, cog_version=cog_version)
            found = _component(self.schema, "Input")
            self.input_schema = found if isinstance(found, dict) else None
            found = _component(self.schema, "Output")
            self.output_schema = found if isinstance(found, dict) else None

    def check(self, input: Mapping[str, Any]) -> None:
        """Check an input against the version's input schema, when known (ValueError)."""
        if self.input_schema is not None:
            from ._schema import validate_input

            validate_input(input, self.input_schema)


class SchemaCache:
    """Per-client cache of resolved references (one metadata request per version, then none).

    Concurrent first uses of a reference, in threads or in tasks (of any event loop), share one
    fetch: the first claims the key, the others wait on its :class:`~concurrent.futures.Future`
    (a ``Join``), each for no longer than its own deadline allows. A fetch that fails settles
    the future with None and the next waiter fetches in its turn.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Any, Resolved] = {}
        self._pending: dict[Any, Future[Resolved | None]] = {}

    def get(self, key: Any) -> Resolved | None:
        return self._entries.get(key)

    def claim(self, key: Any) -> tuple[Future[Resolved | None], bool]:
        """The future of the fetch of ``key`` under way, and whether the caller is to make it
        (then it must :meth:`settle` it, whatever happens)."""
        with self._lock:
            future = self._pending.get(key)
            if future is not None:
                return future, False
            future = self._pending[key] = Future()
            return future, True

    def settle(self, key: Any, future: Future[Resolved | None], resolved: Resolved | None) -> None:
        with self._lock:
            if resolved is not None:
                self._entries[key] = resolved
            if self._pending.get(key) is future:
                del self._pending[key]
        future.set_result(resolved)


def _key(ref: object) -> Any:
    """The cache key of a reference: the string, or what an object names (never its id(),
    which a new object may reuse once the old one is freed)."""
    if isinstance(ref, str):
        return ref.strip()
    return parse_reference(ref).key()


def resolve(core: ClientCore, ref: object, deadline: Deadline = NO_DEADLINE) -> Flow[Resolved]:
    """The target and schema of a reference, fetching model/version metadata once per client
    (:func:`resolve_flow`); under a ``deadline`` each fetch, and each wait for another call's
    fetch, ends by it (PredictionTimeoutError: nothing created)."""
    cache = core.schema_cache
    key = _key(ref)
    while True:
        hit = cache.get(key)
        if hit is not None:
            return hit
        future, mine = cache.claim(key)
        if mine:
            resolved: Resolved | None = None
            try:
                resolved = yield from resolve_flow(core, ref, deadline)
            finally:
                cache.settle(key, future, resolved)
            return resolved
        if not (yield Join(future, deadline.remaining())):
            # Another call's fetch of the same schema outlasted this call's deadline.
            raise deadline.not_created("fetching the model's schema")
        hit = future.result()
        if hit is not None:
            return hit


def _get_flow(core: ClientCore, path: str, cast: Any, deadline: Deadline) -> Flow[Any]:
    """One metadata GET under a call's deadline (a timeout cut by it is its error)."""
    try:
        response = yield from core.send_flow(core.build("GET", path), deadline=deadline)
    except APIConnectionError as exc:
        if deadline.expired(slack=0.01):
            raise deadline.not_created("fetching the model's schema") from exc
        raise
    return response.parse(cast)


def _model_path(owner: str, name: str) -> str:
    return f"/models/{quote(owner, safe='')}/{quote(name, safe='')}"


def _get_version(
    core: ClientCore, owner: str, name: str, version_id: str, deadline: Deadline
) -> Flow[Version]:
    path = f"{_model_path(owner, name)}/versions/{quote(version_id, safe='')}"
    version: Version = yield from _get_flow(core, path, Version, deadline)
    return version


def resolve_flow(core: ClientCore, ref: object, deadline: Deadline = NO_DEADLINE) -> Flow[Resolved]:
    """Fetch what a reference needs (a version's, a deployment's release's or a model's
    latest version's metadata; nothing for a reference that carries its schema) and resolve
    it. No cache: :func:`resolve` caches its result."""
    target = parse_reference(ref)
    schema = target.schema
    cog_version = getattr(ref, "cog_version", None)
    if target.deployment:
        deployment = ref if isinstance(ref, Deployment) else None
        release = deployment.current_release if deployment is not None else None
        if release is not None and release.model and release.version:
            owner, _, name = release.model.partition("/")
            version = yield from _get_version(core, owner, name, release.version, deadline)
            schema, cog_version = version.openapi_schema, version.cog_version
    elif target.version is not None and schema is None and target.owner and target.name:
        version = yield from _get_version(core, target.owner, target.name, target.version, deadline)
        schema, cog_version = version.openapi_schema, version.cog_version
    elif target.version is None and target.owner and target.name:
        model = ref if isinstance(ref, Model) and ref.latest_version is not None else None
        if model is None:
            path = _model_path(target.owner, target.name)
            model = yield from _get_flow(core, path, Model, deadline)
        latest = model.latest_version
        if latest is not None:
            schema, cog_version = latest.openapi_schema, latest.cog_version
            if latest.id and not model.is_official:
                target = Target(owner=target.owner, name=target.name, version=latest.id)
    return Resolved(target, schema, cog_version if isinstance(cog_version, str) else None)
