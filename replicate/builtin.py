"""The built-in behaviours, registered like any other plugin: urllib3, token auth, retries,
Replicate's file hosts and the output decoder.

They answer last (``trylast``), so an installed plugin or a client's own plugin always comes
first for the one-answer hooks; the core also ranks them last explicitly (see ``hookspecs``).

The functions are marked as pluggy hook implementations by :func:`mark_hookimpls`, which the
client's plugin manager calls when it is made, not at import: a client with no plugin but these
calls them directly and never imports pluggy (``_plugins``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._auth import TokenAuth
    from ._config import ClientConfig
    from ._retry import DefaultRetryPolicy
    from .transports.urllib3_transport import Urllib3Transport

DEFAULT_TRANSPORT = "urllib3"
#: The hooks this module implements (each a pluggy ``hookimpl(trylast=True)`` once marked).
HOOKS = (
    "replicate_register_transports",
    "replicate_auth_provider",
    "replicate_retry_policy",
    "replicate_encode_input",
    "replicate_register_file_hosts",
    "replicate_decode_output",
)


def mark_hookimpls() -> None:
    """Mark this module's hook functions as pluggy hook implementations, answering last."""
    from .hookspecs import PROJECT, hookimpl

    namespace = globals()
    for name in HOOKS:
        function = namespace[name]
        if not hasattr(function, f"{PROJECT}_impl"):
            hookimpl(trylast=True)(function)


def _urllib3_factory(config: ClientConfig) -> Urllib3Transport:
    from ._importing import import_paused

    # urllib3 is imported by the first client: without the collector's passes (_importing).
    transport = import_paused(".transports.urllib3_transport", __package__)
    made: Urllib3Transport = transport.Urllib3Transport.from_config(config)
    return made


def replicate_register_transports(register: Callable[..., None]) -> None:
    register(DEFAULT_TRANSPORT, _urllib3_factory, sync=True)


def replicate_auth_provider(config: ClientConfig) -> TokenAuth:
    from ._auth import TokenAuth

    return TokenAuth()


def replicate_retry_policy(config: ClientConfig) -> DefaultRetryPolicy:
    from ._retry import DefaultRetryPolicy

    return DefaultRetryPolicy()


def replicate_encode_input(value: Any, context: Any) -> Any:
    # Files become Upload markers (the create's flow uploads them all at once) or data: URLs;
    # numpy values, datetimes and the like their JSON form; None if unknown (a TypeError).
    from ._inputs import encode_builtin

    return encode_builtin(value, context)


def replicate_register_file_hosts(register: Callable[[str], None]) -> None:
    from ._outputs import DELIVERY_HOSTS

    for host in DELIVERY_HOSTS:
        register(host)


def replicate_decode_output(value: Any, schema: Any, context: Any) -> Any:
    from ._outputs import decode_output

    return decode_output(
        value,
        schema,
        core=context.core,
        client=context.client,
        use_file_output=context.use_file_output,
    )
