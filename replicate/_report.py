"""``replicate.plugins_report()``: which plugins are installed, which loaded, which failed and
why, and what each client kind would choose, without building a transport or sending anything.

The report reads what a new client would read (the ``replicate`` entry points, the
``REPLICATE_*`` variables) and builds what a client builds first, its plugin manager, so it
imports the installed plugins as a client would. It asks the auth hook for its answer (as a
client does when it is built; no provider is called), and names the transport each client kind
would use (the transport's factory is not called). It never holds a token: it says only
whether ``REPLICATE_API_TOKEN`` is set.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

__all__ = ["PluginsReport", "plugins_report"]

_AUTH_HOOK = "replicate_auth_provider"


class PluginsReport:
    """What :func:`plugins_report` found. ``str(report)`` is text for people; ``as_dict()`` and
    ``to_json()`` the same for programs:

    - ``plugins``: one dict per installed entry point of the ``replicate`` group, by name:
      ``name``, ``value`` (``module:attr``), ``distribution``, ``version``, ``status``
      (``"loaded"``, ``"failed"``, ``"not allowed"``: left out by ``REPLICATE_PLUGINS``),
      ``error`` (why it failed, else None) and ``hooks`` (the hooks it implements, when loaded);
    - ``transports``: the registered transports: ``name``, ``plugin``, ``sync``, ``async``;
    - ``clients``: for ``Replicate`` and ``AsyncReplicate``, the ``transport`` each would use
      (``name``, ``plugin``, ``mode``: ``"sync"``, ``"async"`` or ``"sync in worker
      threads"``; or ``error``) and the ``auth`` (``plugin`` that answers, ``provider``: its
      class; or ``error``);
    - ``environment``: the ``REPLICATE_*`` variables that steer plugins (``REPLICATE_PLUGINS``,
      ``REPLICATE_STRICT_PLUGINS``, ``REPLICATE_TRANSPORT``, ``REPLICATE_AUTH``,
      ``REPLICATE_RETRY_POLICY``) as set, and ``REPLICATE_API_TOKEN`` as set or not (never its
      value).
    """

    __slots__ = ("clients", "environment", "error", "plugins", "transports")

    def __init__(
        self,
        *,
        plugins: list[dict[str, Any]],
        transports: list[dict[str, Any]],
        clients: dict[str, dict[str, Any]],
        environment: dict[str, Any],
        error: str | None = None,
    ) -> None:
        self.plugins = plugins
        self.transports = transports
        self.clients = clients
        self.environment = environment
        #: Why the plugins could not be set up at all (``REPLICATE_STRICT_PLUGINS=1`` and a
        #: broken plugin), else None.
        self.error = error

    @property
    def loaded(self) -> list[str]:
        return [p["name"] for p in self.plugins if p["status"] == "loaded"]

    @property
    def failed(self) -> dict[str, str]:
        return {p["name"]: p["error"] for p in self.plugins if p["status"] == "failed"}

    def as_dict(self) -> dict[str, Any]:
        return {
            "plugins": [dict(p) for p in self.plugins],
            "transports": [dict(t) for t in self.transports],
            "clients": {k: {n: dict(v) for n, v in c.items()} for k, c in self.clients.items()},
            "environment": dict(self.environment),
            "error": self.error,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.as_dict(), indent=indent)

    def __str__(self) -> str:
        lines = ["replicate plugins report", "", "Installed plugins (entry points):"]
        if not self.plugins:
            lines.append("  none")
        for p in self.plugins:
            dist = p["distribution"] or "?"
            version = f" {p['version']}" if p["version"] else ""
            line = f"  {p['name']} = {p['value']}  ({dist}{version}): {p['status']}"
            if p["error"]:
                line += f": {p['error']}"
            lines.append(line)
            if p["hooks"]:
                lines.append(f"      hooks: {', '.join(p['hooks'])}")
        if self.error:
            lines += ["", f"Plugins could not be set up: {self.error}"]
        lines += ["", "Transports:"]
        for t in self.transports:
            colours = "/".join(c for c in ("sync", "async") if t[c])
            lines.append(f"  {t['name']} ({colours}) from {t['plugin']}")
        if not self.transports:
            lines.append("  none")
        lines += ["", "What a new client would choose:"]
        for kind, choice in self.clients.items():
            transport, auth = choice["transport"], choice["auth"]
            if transport.get("error"):
                chose = f"error: {transport['error']}"
            else:
                chose = f"{transport['name']} ({transport['mode']}) from {transport['plugin']}"
            if auth.get("error"):
                signs = f"error: {auth['error']}"
            else:
                signs = f"{auth['provider']} from {auth['plugin']}"
            lines += [f"  {kind}:", f"    transport: {chose}", f"    auth: {signs}"]
        lines += ["", "Environment:"]
        for name, value in self.environment.items():
            lines.append(f"  {name}={value!r}" if value is not None else f"  {name} unset")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<PluginsReport plugins={len(self.plugins)} loaded={self.loaded} "
            f"failed={sorted(self.failed)}>"
        )


def plugins_report() -> PluginsReport:
    """Report the installed plugins and what each client kind would choose (see
    :class:`PluginsReport`). Builds no transport and sends nothing; broken plugins are
    reported, not raised (nor warned about)."""
    from . import _plugins, builtin
    from ._config import ClientConfig
    from .exceptions import PluginError

    environment: dict[str, Any] = {
        name: os.environ.get(name)
        for name in (
            _plugins.ALLOWLIST_ENV,
            _plugins.STRICT_ENV,
            _plugins.TRANSPORT_ENV,
            "REPLICATE_AUTH",
            "REPLICATE_RETRY_POLICY",
        )
    }
    environment["REPLICATE_API_TOKEN"] = "set" if os.environ.get("REPLICATE_API_TOKEN") else None

    manager = None
    error: str | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the report says it instead
        try:
            manager = _plugins.Plugins((), builtin=builtin)
        except PluginError as exc:
            error = str(exc)
        with _plugins._lock:
            try:
                entry_points = list(_plugins._scan())
            except PluginError as exc:  # two distributions declaring one name, strictly
                entry_points, error = [], error or str(exc)
            failed = dict(_plugins._failed)
            loaded = dict(_plugins._loaded)

    registered = set(manager.installed_names) if manager is not None else set()
    plugins = []
    for ep in entry_points:
        dist = getattr(ep, "dist", None)
        if not _plugins._allowed(ep.name):
            status, why = "not allowed", f"not in {_plugins.ALLOWLIST_ENV}"
        elif ep.name in failed:
            status, why = "failed", failed[ep.name]
        elif ep.name in registered or (manager is None and ep.name in loaded):
            status, why = "loaded", None
        else:
            status, why = "failed", failed.get(ep.name, "not loaded")
        hooks: list[str] = []
        if manager is not None and status == "loaded":
            plugin = manager.pm.get_plugin(ep.name)
            if plugin is not None:
                hooks = sorted(c.name for c in manager.pm.get_hookcallers(plugin) or ())
        plugins.append(
            {
                "name": ep.name,
                "value": ep.value,
                "distribution": getattr(dist, "name", None),
                "version": getattr(dist, "version", None),
                "status": status,
                "error": why,
                "hooks": hooks,
            }
        )

    transports: list[dict[str, Any]] = []
    clients: dict[str, dict[str, Any]] = {}
    if manager is not None:
        for name, entry in sorted(manager.transports.items()):
            transports.append(
                {
                    "name": name,
                    "plugin": entry.plugin,
                    "sync": bool(entry.sync),
                    "async": bool(entry.async_),
                }
            )
        try:
            config: Any = ClientConfig()
        except Exception as exc:  # a bad REPLICATE_BASE_URL, say
            config = None
            auth: dict[str, Any] = {"error": f"{type(exc).__name__}: {exc}"}
        else:
            auth = _auth_choice(manager, config)
        for kind, is_async in (("Replicate", False), ("AsyncReplicate", True)):
            clients[kind] = {
                "transport": _transport_choice(manager, is_async),
                "auth": dict(auth),
            }
    else:
        for kind in ("Replicate", "AsyncReplicate"):
            clients[kind] = {"transport": {"error": error}, "auth": {"error": error}}
    return PluginsReport(
        plugins=plugins,
        transports=transports,
        clients=clients,
        environment=environment,
        error=error,
    )


def _transport_choice(manager: Any, is_async: bool) -> dict[str, Any]:
    """The transport a client of that kind would use with no ``transport=`` given."""
    from ._plugins import TRANSPORT_ENV
    from .builtin import DEFAULT_TRANSPORT

    from_env = os.environ.get(TRANSPORT_ENV)
    name = from_env or DEFAULT_TRANSPORT
    entry = manager.transports.get(name)
    if entry is None:
        installed = ", ".join(sorted(manager.transports)) or "none"
        source = f"{TRANSPORT_ENV}=" if from_env else ""
        return {"error": f"{source}{name!r} is not an installed transport; installed: {installed}"}
    if is_async:
        mode = "async" if entry.async_ else "sync in worker threads"
    elif entry.sync:
        mode = "sync"
    else:
        return {"error": f"transport {name!r} is async-only; use it with an async client"}
    return {"name": name, "plugin": entry.plugin, "mode": mode}


def _auth_choice(manager: Any, config: Any) -> dict[str, Any]:
    """Which plugin's ``replicate_auth_provider`` a client built without ``bearer_token=``,
    ``auth=`` or an ``Authorization`` header would use, and the provider's class: the hook's
    precedence (``REPLICATE_AUTH``, then the one installed plugin answering, then the
    built-in), asked as a client asks it."""
    from .exceptions import PluginError

    kwargs = {"config": config, "chosen": False}
    impls = manager._impls(_AUTH_HOOK)
    chosen = (os.environ.get("REPLICATE_AUTH") or "").strip()
    try:
        if chosen:
            if chosen not in manager.installed_names:
                return {"error": f"REPLICATE_AUTH={chosen!r} names no loaded plugin"}
            impl = impls.get(chosen)
            if impl is None:
                return {"error": f"REPLICATE_AUTH={chosen!r}: that plugin does not implement it"}
            value = manager._call(impl, {**kwargs, "chosen": True})
            if value is None:
                return {"error": f"REPLICATE_AUTH={chosen!r}: that plugin passed (None)"}
            return _auth_answer(chosen, value)
        answers = []
        for name in manager.installed_names:
            impl = impls.get(name)
            if impl is not None:
                value = manager._call(impl, kwargs)
                if value is not None:
                    answers.append((name, value))
        if len(answers) > 1:
            names = ", ".join(repr(n) for n, _ in answers)
            return {
                "error": f"installed plugins {names} all answer {_AUTH_HOOK}; choose one with "
                "REPLICATE_AUTH=<name>"
            }
        if answers:
            return _auth_answer(*answers[0])
        for name in manager.builtin_names:
            impl = impls.get(name)
            if impl is not None:
                value = manager._call(impl, kwargs)
                if value is not None:
                    return _auth_answer(name, value)
    except PluginError as exc:
        return {"error": str(exc)}
    except Exception as exc:
        return {"error": f"{_AUTH_HOOK} raised {type(exc).__name__}: {exc}"}
    return {"error": f"nothing answered {_AUTH_HOOK}"}


def _auth_answer(plugin: str, provider: object) -> dict[str, Any]:
    cls = type(provider)
    return {"plugin": plugin, "provider": f"{cls.__module__}.{cls.__qualname__}"}
