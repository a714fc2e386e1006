"""The built-in output decoder: which parts of a prediction's output are files.

With the version's output schema, the schema decides: ``format: uri`` strings (and arrays and
objects of them) become :class:`~replicate.FileOutput`, concatenate iterators join into one
string, every other string stays a string. Without it, only ``data:`` URLs and URLs on known file
hosts become files (Replicate's delivery hosts, the API's own origin, and hosts plugins register
with ``replicate_register_file_hosts``), never every ``https:`` string.

Decoding needs the client core (its plugins and file hosts) and the facade the decoded files
download through (:class:`~replicate.FileOutput` holds it): a decoder is given both.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._auth import host_matches, origin_of
from ._files import FileOutput
from .exceptions import PluginError

if TYPE_CHECKING:
    from ._client import Replicate
    from ._core import ClientCore

__all__ = ["FileHosts", "OutputContext", "collect_file_hosts", "decode_output"]

#: Registered by the built-in plugin.
DELIVERY_HOSTS = ("replicate.delivery", "*.replicate.delivery")


class OutputContext:
    """What an output decoder is told besides the value: the client (the facade whose files
    these are), its core, and the caller's choice."""

    __slots__ = ("client", "core", "use_file_output")

    def __init__(
        self, client: Replicate, core: ClientCore, *, use_file_output: bool = True
    ) -> None:
        self.client = client
        self.core = core
        self.use_file_output = use_file_output

    def __repr__(self) -> str:
        return f"OutputContext(use_file_output={self.use_file_output!r})"


class FileHosts:
    """Decides whether a URL is on a known file host (for outputs with no schema).

    ``patterns`` are host names (``files.example.com``), ``*.domain`` for any subdomain (not the
    domain itself), either optionally with ``:port``; http and https both count. The API's own
    origin (scheme, host and port of ``base_url``) always counts.
    """

    __slots__ = ("_api_origin", "_rules", "patterns")

    def __init__(self, base_url: str, patterns: Iterable[str] = ()) -> None:
        try:
            self._api_origin: tuple[str, str, int] | None = origin_of(base_url)
        except ValueError:
            self._api_origin = None
        self.patterns = tuple(dict.fromkeys(check_host_pattern(p) for p in patterns))
        self._rules = tuple(_split_port(p) for p in self.patterns)

    def matches(self, url: str) -> bool:
        try:
            origin = origin_of(url)
        except ValueError:
            return False
        if origin == self._api_origin:
            return True
        _, host, port = origin
        for pattern, want_port in self._rules:
            if (want_port is None or want_port == port) and host_matches(host, pattern):
                return True
        return False

    def __repr__(self) -> str:
        return f"FileHosts({list(self.patterns)!r})"


def check_host_pattern(pattern: object) -> str:
    """A registered host pattern, lower-cased; PluginError if it is not one."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise PluginError(f"a file host must be a non-empty string, got {pattern!r}")
    value = pattern.strip().lower()
    host, port = _split_port(value)
    bare = host[2:] if host.startswith("*.") else host
    if not bare or any(c in bare for c in "/?#@* \t") or "://" in value:
        raise PluginError(
            f"file host {pattern!r} is not a host name: pass 'files.example.com', "
            "'*.example.com' or 'localhost:8000', without a scheme or path"
        )
    return value if port is None else f"{host}:{port}"


def _split_port(pattern: str) -> tuple[str, int | None]:
    if pattern.startswith("["):  # [::1]:8000
        host, _, rest = pattern[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif pattern.count(":") == 1:
        host, _, port = pattern.partition(":")
    else:
        return pattern, None
    if not port:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise PluginError(f"file host {pattern!r} has an invalid port")
    return host, int(port)


def collect_file_hosts(core: ClientCore) -> FileHosts:
    """Ask every plugin's ``replicate_register_file_hosts`` (built-ins included)."""
    from ._plugins import strict

    patterns: list[str] = []
    for impl in core.plugins.pm.hook.replicate_register_file_hosts.get_hookimpls():
        found: list[str] = []

        def register(pattern: str, _found: list[str] = found) -> None:
            _found.append(check_host_pattern(pattern))

        try:
            impl.function(*[{"register": register}[name] for name in impl.argnames])
        except PluginError:
            raise
        except Exception as exc:
            message = (
                f"replicate plugin {impl.plugin_name!r}: replicate_register_file_hosts raised "
                f"{type(exc).__name__}: {exc}"
            )
            if strict():
                raise PluginError(message) from exc
            warnings.warn(f"{message}; its file hosts are ignored", RuntimeWarning, stacklevel=3)
            continue
        patterns.extend(found)
    return FileHosts(core.config.base_url, patterns)


def decode_output(
    value: Any,
    schema: Any,
    *,
    core: ClientCore,
    client: Replicate,
    use_file_output: bool = True,
) -> Any:
    """A prediction's JSON output with its files turned into :class:`FileOutput` objects.

    ``schema`` is the version's dereferenced output schema, or None when unknown. With
    ``use_file_output=False`` the value comes back unchanged.
    """
    if not use_file_output:
        return value
    decoder = _Decoder(core, client)
    if schema is None:
        return decoder.hostless(value)
    return decoder.by_schema(value, schema)


class _Decoder:
    __slots__ = ("_client", "_core", "_hosts")

    def __init__(self, core: ClientCore, client: Replicate) -> None:
        self._core = core
        self._client = client
        self._hosts: FileHosts | None = None

    def file(self, url: str) -> FileOutput:
        return self._client._file_output(url, client=self._client)

    # --- no schema: only data: URLs and known file hosts -----------------------------------

    def hostless(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.file(value) if self.is_known_file(value) else value
        if isinstance(value, list):
            return [self.hostless(v) for v in value]
        if isinstance(value, dict):
            return {k: self.hostless(v) for k, v in value.items()}
        return value

    def is_known_file(self, value: str) -> bool:
        head = value[:8].lower()
        if head.startswith("data:"):
            return "," in value
        if not head.startswith(("https://", "http://")):
            return False
        hosts = self._hosts
        if hosts is None:
            hosts = self._hosts = self._core.file_hosts()
        return hosts.matches(value)

    # --- with a schema ------------------------------------------------------------------------

    def by_schema(self, value: Any, schema: Any) -> Any:
        schema = _resolve(value, schema)
        if schema is None:
            return self.hostless(value)
        types = _types(schema)
        if isinstance(value, str):
            if schema.get("format") == "uri" and (not types or "string" in types):
                return self.file(value) if _is_url(value) else value
            if types or "format" in schema or "enum" in schema or "const" in schema:
                return value  # a string the schema knows is not a file
            return self.hostless(value)
        if isinstance(value, list):
            if (types and "array" not in types) or not ("items" in schema or "array" in types):
                return self.hostless(value)
            if (
                schema.get("x-cog-array-type") == "iterator"
                and schema.get("x-cog-array-display") == "concatenate"
                and all(isinstance(v, str) for v in value)
            ):
                return "".join(value)
            items = schema.get("items", schema.get("prefixItems"))
            if isinstance(items, list):  # tuple-style: one schema per position
                return [
                    self.by_schema(v, items[i]) if i < len(items) else self.hostless(v)
                    for i, v in enumerate(value)
                ]
            if isinstance(items, dict):
                return [self.by_schema(v, items) for v in value]
            return self.hostless(value)
        if isinstance(value, dict):
            properties = schema.get("properties")
            extra = schema.get("additionalProperties")
            if (types and "object" not in types) or not (
                isinstance(properties, dict) or isinstance(extra, dict)
            ):
                return self.hostless(value)
            out = {}
            for key, item in value.items():
                sub = properties.get(key) if isinstance(properties, dict) else None
                if sub is None and isinstance(extra, dict):
                    sub = extra
                out[key] = self.hostless(item) if sub is None else self.by_schema(item, sub)
            return out
        return value


def _types(schema: dict[str, Any]) -> tuple[str, ...]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return (kind,)
    if isinstance(kind, list):
        return tuple(k for k in kind if isinstance(k, str))
    return ()


_JSON_TYPE = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return _JSON_TYPE.get(type(value), "")


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    types = _types(schema)
    if not types:
        return True
    kind = _json_type(value)
    return kind in types or (kind == "integer" and "number" in types)


def _resolve(value: Any, schema: Any, depth: int = 0) -> dict[str, Any] | None:
    """The plain schema that applies to ``value``: ``allOf`` parts merged, the ``anyOf``/
    ``oneOf`` branch that fits the value chosen. None when the shape is not understood (an
    unresolved ``$ref``, no usable branch), so that part falls back to the hostless rule."""
    if not isinstance(schema, dict) or depth > 32:
        return None
    if "$ref" in schema:
        return None
    merged: dict[str, Any] = dict(schema)
    all_of = merged.pop("allOf", None)
    if isinstance(all_of, list):
        for part in all_of:
            resolved = _resolve(value, part, depth + 1)
            if resolved is None:
                return None
            merged = {**resolved, **merged}
    elif all_of is not None:
        return None
    for key in ("anyOf", "oneOf"):
        branches = merged.pop(key, None)
        if branches is None:
            continue
        if not isinstance(branches, list):
            return None
        fitting = [b for b in (_resolve(value, b, depth + 1) for b in branches) if b is not None]
        fitting = [b for b in fitting if _fits(value, b)]
        if not fitting:
            return None
        # Prefer a branch that says the value is a file, then the first that fits.
        chosen = next((b for b in fitting if b.get("format") == "uri"), fitting[0])
        merged = {**chosen, **merged}
    return merged


def _is_url(value: str) -> bool:
    head = value[:8].lower()
    return head.startswith(("https://", "http://")) or (head.startswith("data:") and "," in value)
