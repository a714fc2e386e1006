"""Which models an emulator runs: the built-ins, ``@model``-decorated functions, models of
installed plugins (the ``replicate_emulator`` entry-point group, see :mod:`.hookspecs`) and
those passed to the emulator.

A ref (``owner/name``) may have several versions: registering a predictor whose version id is
new adds a version, which becomes the model's latest; registering one whose id is known
replaces it (the same function registered twice, say).
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .predictors import Predictor

__all__ = ["Registry", "entry_point_models", "model", "registered_models", "unregister"]

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute ``@model`` leaves on the function it decorates.
PREDICTOR_ATTR = "__replicate_emulator_predictor__"
#: The owner of models registered without a ref: the emulator's account.
DEFAULT_OWNER = "emulator"

_STRICT_ENV = "REPLICATE_STRICT_PLUGINS"


def as_predictor(item: Any, ref: str | None = None, **options: Any) -> Predictor:
    """A Predictor from a Predictor, a ``@model``-decorated function, a ``(ref, function)``
    pair or a plain typed function (named ``emulator/<function-name>`` unless ``ref`` says
    otherwise)."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        ref, item = item
    if isinstance(item, Predictor):
        if ref is not None and ref != item.ref:
            raise ValueError(f"predictor {item.ref!r} cannot be registered as {ref!r}")
        return item
    if not callable(item):
        raise TypeError(f"a model is a Predictor or a typed function, not {type(item).__name__}")
    decorated = getattr(item, PREDICTOR_ATTR, None)
    if isinstance(decorated, Predictor) and (ref is None or ref == decorated.ref) and not options:
        return decorated
    if ref is None:
        name = getattr(item, "__name__", "") or "model"
        ref = f"{DEFAULT_OWNER}/{name.strip('_').replace('_', '-').lower() or 'model'}"
    return Predictor(item, ref, **options)


class Registry:
    """Predictors by ref and by version id; safe to use from many threads."""

    def __init__(self, predictors: Iterable[Any] = ()) -> None:
        self._lock = threading.Lock()
        self._by_version: dict[str, Predictor] = {}
        self._latest: dict[str, Predictor] = {}
        for item in predictors:
            self.add(item)

    @classmethod
    def default(cls, extra: Iterable[Any] = (), entry_points: bool = True) -> Registry:
        """The built-in models, then ``@model``-decorated ones, then installed plugins' (when
        ``entry_points``), then ``extra`` (Predictors, functions or ``(ref, function)`` pairs):
        where two share a ref, the later is the model's latest version."""
        # builtin_models defines predictors at import time: imported here so that importing
        # the registry (for ``@model``) stays cheap.
        from .builtin_models import BUILTINS

        registry = cls(BUILTINS)
        for predictor in registered_models():
            registry.add(predictor)
        if entry_points:
            for predictor in entry_point_models():
                registry.add(predictor)
        for item in extra:
            registry.add(item)
        return registry

    def add(self, item: Any, ref: str | None = None, **options: Any) -> Predictor:
        """Register a model (see :func:`as_predictor`) and return its Predictor."""
        predictor = as_predictor(item, ref, **options)
        with self._lock:
            old = self._by_version.pop(predictor.version_id, None)
            if old is not None and old.ref != predictor.ref:
                self._by_version[old.version_id] = old
                raise ValueError(
                    f"version {predictor.version_id} is already {old.ref!r}'s; "
                    f"{predictor.ref!r} cannot have it too"
                )
            self._by_version[predictor.version_id] = predictor
            self._latest[predictor.ref] = predictor
        return predictor

    def get(self, ref: str) -> Predictor | None:
        """The latest version of ``owner/name``."""
        return self._latest.get(ref)

    def by_version(self, version_id: str) -> Predictor | None:
        return self._by_version.get(version_id)

    def all(self) -> list[Predictor]:
        """Every version, in the order registered."""
        with self._lock:
            return list(self._by_version.values())

    def refs(self) -> list[str]:
        with self._lock:
            return list(self._latest)

    def __contains__(self, ref: object) -> bool:
        return ref in self._latest

    def __iter__(self) -> Iterator[Predictor]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._by_version)

    def __repr__(self) -> str:
        return f"<Registry {len(self._latest)} models, {len(self._by_version)} versions>"


# --- @model ------------------------------------------------------------------------------------

_decorated: dict[str, Predictor] = {}
_decorated_lock = threading.Lock()


def model(
    ref: str,
    *,
    description: str | None = None,
    version_id: str | None = None,
    cog_version: str | None = None,
) -> Callable[[F], F]:
    """Register a typed function as the model ``ref`` for every emulator built afterwards::

        @replicate_emulator.model("acme/echo", description="Says it back")
        def echo(text: str = Input(default="hi")) -> str:
            return text

    The function is returned unchanged (still callable directly); its Predictor is its
    ``__replicate_emulator_predictor__`` attribute.
    """

    def decorate(fn: F) -> F:
        options: dict[str, Any] = {"description": description, "version_id": version_id}
        if cog_version is not None:
            options["cog_version"] = cog_version
        predictor = Predictor(fn, ref, **options)
        with _decorated_lock:
            _decorated[predictor.version_id] = predictor
        setattr(fn, PREDICTOR_ATTR, predictor)
        return fn

    return decorate


def unregister(item: Any) -> int:
    """Undo ``@model``: forget a decorated function, a Predictor, or every version of a ref
    (tests that decorate functions use this to leave later emulators as they found them).
    Returns how many versions were forgotten."""
    with _decorated_lock:
        if isinstance(item, str):
            gone = [vid for vid, p in _decorated.items() if p.ref == item]
        else:
            predictor = item if isinstance(item, Predictor) else getattr(item, PREDICTOR_ATTR, None)
            gone = [vid for vid, p in _decorated.items() if p is predictor]
        for vid in gone:
            del _decorated[vid]
    return len(gone)


def registered_models() -> list[Predictor]:
    """The ``@model``-decorated predictors, in the order decorated."""
    with _decorated_lock:
        return list(_decorated.values())


# --- plugins -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _plugin_models() -> tuple[Predictor, ...]:
    import importlib.metadata

    import pluggy

    from . import hookspecs

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    found: list[Predictor] = []
    seen: set[str] = set()
    for ep in sorted(
        importlib.metadata.entry_points(group=hookspecs.PROJECT), key=lambda e: e.name
    ):
        if ep.name in seen:  # the same distribution seen twice on sys.path
            continue
        seen.add(ep.name)
        try:
            plugin = ep.load()
            manager.register(plugin, name=ep.name)
        except Exception as exc:
            _broken(ep.name, "could not be loaded", exc)
            continue
        found.extend(_call_plugin(manager, ep.name))
    return tuple(found)


def _call_plugin(manager: Any, name: str) -> list[Predictor]:
    plugin = manager.get_plugin(name)
    impls = [
        impl
        for impl in manager.hook.replicate_emulator_register_models.get_hookimpls()
        if impl.plugin is plugin
    ]
    mine: list[Predictor] = []

    def register(item: Any, ref: str | None = None, **options: Any) -> Predictor:
        predictor = as_predictor(item, ref, **options)
        mine.append(predictor)
        return predictor

    for impl in impls:
        try:
            impl.function(register=register)
        except Exception as exc:
            _broken(name, "failed registering its models", exc)
            return []
    return mine


def _broken(name: str, what: str, exc: Exception) -> None:
    message = f"replicate_emulator plugin {name!r} {what}: {type(exc).__name__}: {exc}"
    if os.environ.get(_STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        from replicate.exceptions import PluginError

        raise PluginError(message) from exc
    warnings.warn(
        f"{message} (its models are left out; set {_STRICT_ENV}=1 to make this an error)",
        RuntimeWarning,
        stacklevel=4,
    )


def entry_point_models(*, reload: bool = False) -> list[Predictor]:
    """The models of installed plugins, loaded once per process (``reload`` loads them again,
    for a plugin installed since)."""
    if reload:
        _plugin_models.cache_clear()
    return list(_plugin_models())
