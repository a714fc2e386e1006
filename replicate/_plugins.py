"""Finding, loading and consulting plugins.

Installed plugins (the ``replicate`` entry-point group) are scanned once per process, when the
first client is built, and imported one at a time so that a broken one is skipped with a
warning instead of breaking the SDK. The scan reads the ``*.dist-info``/``*.egg-info`` folders on
``sys.path`` itself (:func:`_fast_entry_points`) as ``importlib.metadata`` would, because importing
``importlib.metadata`` costs a first client about 20 ms; it falls back on ``importlib.metadata``
wherever distributions could come from elsewhere (zip files, custom finders).

Each client gets its own pluggy PluginManager holding the built-ins (the ``builtin`` module,
which the client hands over: this module does not import it), the installed plugins and its own
``plugins=[...]``, so one client's plugins never affect another's. A client with no plugin but
the built-ins (nothing installed, no ``plugins=[...]``) calls the built-in functions directly and
makes its PluginManager only when something asks for it (:attr:`Plugins.pm`): pluggy and the
hookspecs then cost a first client nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .exceptions import PluginError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint as _MetadataEntryPoint
    from typing import TypeAlias

    import pluggy

    EntryPoint: TypeAlias = "_MetadataEntryPoint | _EntryPoint"

ENTRY_POINT_GROUP = "replicate"
ALLOWLIST_ENV = "REPLICATE_PLUGINS"
STRICT_ENV = "REPLICATE_STRICT_PLUGINS"
TRACE_ENV = "REPLICATE_TRACE_PLUGINS"
TRANSPORT_ENV = "REPLICATE_TRANSPORT"

_BUILTIN_NAME = "replicate.builtin"
_lock = threading.Lock()
_entry_points: list[EntryPoint] | None = None
_loaded: dict[str, object] = {}
_failed: dict[str, str] = {}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def strict() -> bool:
    return _truthy(os.environ.get(STRICT_ENV))


def _scan() -> list[EntryPoint]:
    global _entry_points
    if _entry_points is None:
        fast = _fast_entry_points()
        found: list[EntryPoint]
        if fast is not None:
            found = list(fast)
        else:
            from importlib.metadata import entry_points

            found = list(entry_points(group=ENTRY_POINT_GROUP))
        seen: dict[str, EntryPoint] = {}
        for ep in found:
            if ep.name in seen and seen[ep.name].value != ep.value:
                _skip(
                    ep.name,
                    f"two installed distributions declare the plugin name {ep.name!r} "
                    f"({seen[ep.name].value} and {ep.value}); keeping the first",
                )
                continue
            seen.setdefault(ep.name, ep)
        # By name, not by the file system's order: collect-all hooks run in a reproducible order.
        _entry_points = sorted(seen.values(), key=lambda ep: ep.name)
    return _entry_points


class _Distribution:
    """The ``name`` and ``version`` of an installed distribution, read from its metadata file
    when first asked (only messages and the report ask)."""

    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._fields: dict[str, str] | None = None

    def _field(self, key: str) -> str | None:
        if self._fields is None:
            fields: dict[str, str] = {}
            for filename in ("METADATA", "PKG-INFO"):
                try:
                    with open(os.path.join(self._folder, filename), encoding="utf-8") as f:
                        for line in f:
                            if not line.strip():
                                break  # the headers end at the first blank line
                            head, sep, value = line.partition(":")
                            if sep and head in ("Name", "Version"):
                                fields.setdefault(head, value.strip())
                except OSError:
                    continue
                break
            self._fields = fields
        return self._fields.get(key)

    @property
    def name(self) -> str | None:
        return self._field("Name")

    @property
    def version(self) -> str | None:
        return self._field("Version")


class _EntryPoint:
    """One entry point of the ``replicate`` group, loaded as ``importlib.metadata`` loads it
    (``module:attr.path``, extras ignored)."""

    __slots__ = ("dist", "name", "value")

    def __init__(self, name: str, value: str, dist: _Distribution) -> None:
        self.name = name
        self.value = value
        self.dist = dist

    def load(self) -> Any:
        from importlib import import_module

        module_name, _, attrs = self.value.partition("[")[0].partition(":")
        obj: Any = import_module(module_name.strip())
        for attr in attrs.strip().split("."):
            if attr:
                obj = getattr(obj, attr)
        return obj

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={ENTRY_POINT_GROUP!r})"


def _normalized(name: str) -> str:
    """A distribution name as ``importlib.metadata`` compares them (PEP 503, underscores)."""
    out, last = [], ""
    for ch in name.lower():
        if ch in "-_.":
            if last != "_":
                out.append("_")
            last = "_"
        else:
            out.append(ch)
            last = ch
    return "".join(out)


def _fast_entry_points() -> list[_EntryPoint] | None:
    """The ``replicate`` entry points of the distributions on ``sys.path``, found as
    ``importlib.metadata.entry_points`` finds them (path order, ``.dist-info`` before
    ``.egg-info`` in each folder, the first distribution of a name winning), or None when
    something other than plain folders could hold distributions: then ``importlib.metadata``
    has to look."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if hasattr(finder, "find_distributions") and finder is not PathFinder:
            kind = type(finder)
            # The importlib_metadata backport puts in its own finder of the same folders.
            if (kind.__module__, kind.__name__) != ("importlib_metadata", "MetadataPathFinder"):
                return None
    found: list[_EntryPoint] = []
    seen: set[str] = set()
    for entry in sys.path:
        folder = entry or "."
        if folder.lower().endswith(".egg"):
            return None  # an egg folder keeps its metadata in EGG-INFO
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return None  # a zip file on sys.path
        except OSError:
            continue
        infos = [n for n in names if n.lower().endswith(".dist-info")]
        eggs = [n for n in names if n.lower().endswith(".egg-info")]
        for name in infos + eggs:
            stem = name.rpartition(".")[0]
            key = _normalized(stem.partition("-")[0])
            if key in seen:
                continue
            seen.add(key)
            path = os.path.join(folder, name)
            try:
                with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue  # no entry points (or an egg-info file, not a folder)
            found.extend(_parse_entry_points(text, _Distribution(path)))
    return found


def _parse_entry_points(text: str, dist: _Distribution) -> list[_EntryPoint]:
    """The ``[replicate]`` section of an ``entry_points.txt``."""
    out = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section != ENTRY_POINT_GROUP:
            continue
        name, sep, value = line.partition("=")
        if sep:
            out.append(_EntryPoint(name.strip(), value.strip(), dist))
    return out


def _skip(name: str, why: str, exc: BaseException | None = None) -> None:
    if strict():
        raise PluginError(f"replicate plugin {name!r}: {why}") from exc
    if name not in _failed:
        _failed[name] = why
        warnings.warn(
            f"replicate: skipping plugin {name!r}: {why} "
            f"(set {STRICT_ENV}=1 to make this an error)",
            RuntimeWarning,
            stacklevel=4,
        )


def _allowed(name: str) -> bool:
    allow = os.environ.get(ALLOWLIST_ENV)
    if allow is None:
        return True
    return name in {n.strip() for n in allow.split(",") if n.strip()}


def installed_plugins() -> list[tuple[str, object]]:
    """(entry-point name, plugin object) for each installed plugin that loads and is allowed."""
    allow = os.environ.get(ALLOWLIST_ENV)
    if allow is not None and not any(n.strip() for n in allow.split(",")):
        return []  # REPLICATE_PLUGINS allows none: what is installed need not be looked at
    out = []
    with _lock:
        for ep in _scan():
            if not _allowed(ep.name):
                continue
            if ep.name in _loaded:
                out.append((ep.name, _loaded[ep.name]))
                continue
            if ep.name in _failed:
                if strict():
                    raise PluginError(f"replicate plugin {ep.name!r}: {_failed[ep.name]}")
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                dist = getattr(getattr(ep, "dist", None), "name", None)
                where = f"{ep.value}" + (f" from {dist}" if dist else "")
                _skip(ep.name, f"failed to import {where}: {type(exc).__name__}: {exc}", exc)
                continue
            _loaded[ep.name] = plugin
            out.append((ep.name, plugin))
    return out


def reset() -> None:
    """Forget the entry-point scan (for tests and for code that installs plugins at run time)."""
    global _entry_points
    with _lock:
        _entry_points = None
        _loaded.clear()
        _failed.clear()


class UnknownPluginError(PluginError, ValueError):
    """A plugin chosen by a name (``auth="name"``, ``REPLICATE_AUTH=name``) that is no loaded
    plugin: a :class:`~replicate.PluginError`, and a ValueError as an unknown transport name is."""


class TransportEntry:
    """A registered transport. ``factory`` makes it (the sync colour's, when the name was
    registered once per colour); ``async_factory`` is the async colour's, when that came from a
    registration of its own (None: ``factory`` makes every colour the entry offers)."""

    __slots__ = ("async_", "async_factory", "factory", "name", "plugin", "sync")

    def __init__(
        self,
        name: str,
        factory: Callable[..., Any],
        sync: bool,
        async_: bool,
        plugin: str,
        async_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.name = name
        self.factory = factory
        self.sync = sync
        self.async_ = async_
        self.plugin = plugin
        self.async_factory = async_factory

    def __repr__(self) -> str:
        return (
            f"TransportEntry(name={self.name!r}, plugin={self.plugin!r}, sync={self.sync}, "
            f"async_={self.async_})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransportEntry):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def factory_for(self, *, async_: bool) -> Callable[..., Any]:
        """The factory of a colour the entry offers."""
        if async_ and self.async_factory is not None:
            return self.async_factory
        return self.factory


class Plugins:
    """One client's plugin manager and the precedence rules for one-answer hooks.

    ``builtin`` is the plugin that answers last (the client passes ``replicate.builtin``)."""

    def __init__(self, client_plugins: Sequence[object] = (), *, builtin: object) -> None:
        self._builtin = builtin
        self._pm: pluggy.PluginManager | None = None
        self._pm_lock = threading.Lock()
        self._only_builtin: dict[str, bool] = {}
        self.builtin_names = (_BUILTIN_NAME,)
        self.installed_names: list[str] = []
        self.client_names: list[str] = []
        installed = installed_plugins()
        if not installed and not client_plugins and not _truthy(os.environ.get(TRACE_ENV)):
            # Only the built-ins: they are called directly, the manager made when asked for.
            self.transports = self._collect_transports()
            return
        pm = self._new_manager()
        for name, plugin in installed:
            if self._register(pm, plugin, name):
                self.installed_names.append(name)
        for index, plugin in enumerate(client_plugins):
            name = f"client-plugin-{index}:{_describe(plugin)}"
            try:
                pm.register(plugin, name=name)
                pm.check_pending()
            except Exception as exc:
                if pm.is_registered(plugin):
                    pm.unregister(plugin)
                raise PluginError(
                    f"plugins=[...] item {index} ({_describe(plugin)}): {exc}"
                ) from exc
            self.client_names.append(name)
        if _truthy(os.environ.get(TRACE_ENV)):
            pm.trace.root.setwriter(
                lambda msg: warnings.warn(f"replicate trace: {msg}", stacklevel=2)
            )
            pm.enable_tracing()
        self._pm = pm
        self.transports = self._collect_transports()

    def _new_manager(self) -> pluggy.PluginManager:
        """A PluginManager with the hookspecs and the built-ins registered."""
        import pluggy

        from . import hookspecs

        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        mark = getattr(self._builtin, "mark_hookimpls", None)
        if mark is not None:
            mark()  # the built-in module's functions become pluggy hookimpls (once)
        pm.register(self._builtin, name=_BUILTIN_NAME)
        return pm

    @property
    def pm(self) -> pluggy.PluginManager:
        """This client's pluggy PluginManager (made on first use when only the built-ins are
        registered, holding just them)."""
        pm = self._pm
        if pm is None:
            with self._pm_lock:
                pm = self._pm
                if pm is None:
                    pm = self._pm = self._new_manager()
        return pm

    @property
    def _direct(self) -> bool:
        """Whether only the built-ins are registered and no manager was made: hooks are then
        answered by the built-in functions themselves."""
        return self._pm is None

    def _hookimpls(self, hook: str) -> list[Any]:
        """``hook``'s implementations in pluggy's order (``get_hookimpls``)."""
        if self._direct:
            function = getattr(self._builtin, hook, None)
            return [] if function is None else [_DirectImpl(function)]
        return list(getattr(self.pm.hook, hook).get_hookimpls())

    @staticmethod
    def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> bool:
        try:
            pm.register(plugin, name=name)
            pm.check_pending()
        except Exception as exc:
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            _skip(name, f"failed to register: {type(exc).__name__}: {exc}", exc)
            return False
        return True

    def only_builtin(self, hook: str) -> bool:
        """Whether only the built-ins implement ``hook`` (then the core may call them directly)."""
        if self._direct:
            return True
        cache = self._only_builtin
        answer = cache.get(hook)
        if answer is None:
            impls = self._hookimpls(hook)
            answer = cache[hook] = all(i.plugin_name in self.builtin_names for i in impls)
        return answer

    def _impls(self, hook: str) -> dict[str, Any]:
        return {impl.plugin_name: impl for impl in self._hookimpls(hook)}

    @staticmethod
    def _call(impl: Any, kwargs: dict[str, Any]) -> Any:
        return impl.function(*[kwargs[name] for name in impl.argnames])

    def one_answer(
        self,
        hook: str,
        kwargs: dict[str, Any],
        *,
        choice_env: str,
        check: Callable[[Any, str], None] | None = None,
    ) -> Any:
        """The answer to a one-answer hook: client plugins > installed > built-ins.

        Two installed plugins answering is an error unless ``choice_env`` names one of them
        (then only that one is asked, as :meth:`named_answer` does). ``check(value, source)``,
        if given, vets the answer (raising TypeError), ``source`` naming the plugin's hook.
        """
        impls = self._impls(hook)
        for name in self.client_names:
            impl = impls.get(name)
            if impl is not None:
                value = self._call(impl, kwargs)
                if value is not None:
                    return _checked(check, value, hook, name)
        chosen = (os.environ.get(choice_env) or "").strip()
        if chosen:
            return self.named_answer(
                hook, chosen, kwargs, source=f"{choice_env}={chosen!r}", check=check
            )
        answers = []
        for name in self.installed_names:
            impl = impls.get(name)
            if impl is not None:
                value = self._call(impl, kwargs)
                if value is not None:
                    answers.append((name, value))
        if len(answers) > 1:
            names = ", ".join(repr(n) for n, _ in answers)
            raise PluginError(
                f"installed plugins {names} all answer {hook}; choose one with {choice_env}=<name> "
                "or pass it explicitly to the client"
            )
        if answers:
            return _checked(check, answers[0][1], hook, answers[0][0])
        for name in self.builtin_names:
            impl = impls.get(name)
            if impl is not None:
                value = self._call(impl, kwargs)
                if value is not None:
                    return value
        raise PluginError(f"nothing answered {hook}")  # unreachable: the built-ins answer

    def answering(self, hook: str) -> list[str]:
        """The entry-point names of the installed plugins that implement ``hook``."""
        impls = self._impls(hook)
        return [name for name in self.installed_names if name in impls]

    def named_answer(
        self,
        hook: str,
        name: str,
        kwargs: dict[str, Any],
        *,
        source: str,
        check: Callable[[Any, str], None] | None = None,
    ) -> Any:
        """The answer of the installed plugin ``name`` (its entry-point name) to ``hook``: the
        user chose it (``source`` says how, for the messages). If ``kwargs`` has a ``chosen``
        argument it is set True, so the plugin knows it was named.

        A name that is no loaded plugin is an :class:`UnknownPluginError` (a PluginError and a
        ValueError) listing the installed plugins that implement the hook; a plugin that does
        not implement it, or that passes (returns None), is a PluginError saying which.
        """
        impls = self._impls(hook)
        if name not in self.installed_names:
            offered = self.answering(hook)
            why = _why_not_loaded(name)
            raise UnknownPluginError(
                f"{source} names no loaded plugin{why}; installed plugins implementing "
                f"{hook}: {', '.join(repr(n) for n in offered) or 'none'}"
            )
        impl = impls.get(name)
        if impl is None:
            raise PluginError(f"{source}: plugin {name!r} does not implement {hook}")
        if "chosen" in kwargs:
            kwargs = {**kwargs, "chosen": True}
        value = self._call(impl, kwargs)
        if value is None:
            raise PluginError(
                f"{source}: plugin {name!r} passed (its {hook} returned None), which it does "
                "when it is not set up: see that plugin's documentation for what it needs"
            )
        return _checked(check, value, hook, name)

    def _collect_transports(self) -> dict[str, TransportEntry]:
        registry: dict[str, TransportEntry] = {}
        for impl in reversed(self._hookimpls("replicate_register_transports")):
            plugin = impl.plugin_name

            def register(
                name: str,
                factory: Callable[..., Any],
                *,
                sync: bool = True,
                async_: bool = False,
                _plugin: str = plugin,
            ) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginError(f"plugin {_plugin!r} registered a transport with no name")
                known = registry.get(name)
                if known is not None:
                    # The same plugin may give one name a factory per colour (httpx's
                    # Client and AsyncClient): the second registration adds the other colour.
                    if (
                        known.plugin == _plugin
                        and not (known.sync and sync)
                        and not (known.async_ and async_)
                    ):
                        if sync:
                            known.async_factory, known.factory = known.factory, factory
                        else:
                            known.async_factory = factory
                        known.sync, known.async_ = known.sync or sync, known.async_ or async_
                        return
                    raise PluginError(
                        f"transport {name!r} is registered twice: by {known.plugin!r} "
                        f"and by {_plugin!r}"
                    )
                registry[name] = TransportEntry(name, factory, sync, async_, _plugin)

            try:
                self._call(impl, {"register": register})
            except PluginError:
                raise
            except Exception as exc:
                _skip(
                    plugin, f"replicate_register_transports raised {type(exc).__name__}: {exc}", exc
                )
                # Skipped means skipped: none of its other hooks run, none of its transports stay.
                self.pm.unregister(name=plugin)
                for names in (self.installed_names, self.client_names):
                    if plugin in names:
                        names.remove(plugin)
                for key in [key for key, entry in registry.items() if entry.plugin == plugin]:
                    del registry[key]
        return registry

    def callers(self, hook: str, argnames: tuple[str, ...]) -> tuple[Callable[..., Any], ...]:
        """A collect-all hook's implementations in call order, each callable with every one of
        ``argnames`` as keywords (an implementation may take fewer).

        The order is ``tryfirst`` ones, then the rest, then ``trylast`` ones; within each group
        by registration: built-ins, installed plugins (by name), then the client's own plugins in
        list order, so that a client's own plugin has the last word.
        """
        return tuple(fn for _, fn in self.named_callers(hook, argnames))

    def named_callers(
        self, hook: str, argnames: tuple[str, ...]
    ) -> tuple[tuple[str, Callable[..., Any]], ...]:
        """:meth:`callers`, each paired with the name of its plugin (for messages that name
        the plugin whose implementation failed)."""
        impls = self._hookimpls(hook)
        ordered = (
            [i for i in impls if i.tryfirst]
            + [i for i in impls if not i.tryfirst and not i.trylast]
            + [i for i in impls if i.trylast]
        )
        return tuple(
            (i.plugin_name, _bind(i.function, tuple(i.argnames), argnames)) for i in ordered
        )


class _DirectImpl:
    """A built-in function standing for the pluggy ``HookImpl`` it would be registered as."""

    __slots__ = ("argnames", "function")

    plugin_name = _BUILTIN_NAME
    tryfirst = False
    trylast = True

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        code = function.__code__
        self.argnames = code.co_varnames[: code.co_argcount]


def _bind(
    fn: Callable[..., Any], names: tuple[str, ...], full: tuple[str, ...]
) -> Callable[..., Any]:
    if names == full:
        return fn

    def call(**kwargs: Any) -> Any:
        return fn(*[kwargs[n] for n in names])

    call.__wrapped__ = fn  # type: ignore[attr-defined]  # what error messages name
    return call


def _checked(check: Callable[[Any, str], None] | None, value: Any, hook: str, name: str) -> Any:
    if check is not None:
        check(value, f"the object returned by plugin {name!r}'s {hook}")
    return value


def _why_not_loaded(name: str) -> str:
    """Why an installed plugin ``name`` is not loaded (empty when it is not installed)."""
    with _lock:
        entry_points = {ep.name for ep in _scan()}
        failed = _failed.get(name)
    if name not in entry_points:
        return ""
    if not _allowed(name):
        return f" (the installed plugin {name!r} is not allowed by {ALLOWLIST_ENV})"
    if failed is not None:
        return f" (the installed plugin {name!r} was skipped: {failed})"
    return ""


def _describe(plugin: object) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__name__
