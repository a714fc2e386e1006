"""The built-in behaviours, registered like any other plugin: urllib3, token auth, retries,
Replicate's file hosts and the output decoder.

They answer last (``trylast``), so an installed plugin or a client's own plugin always comes
first for the one-answer hooks; the core also ranks them last explicitly (see ``hookspecs``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from ._auth import TokenAuth
    from ._config import ClientConfig
    from ._retry import DefaultRetryPolicy
    from .transports.urllib3_transport import Urllib3Transport

DEFAULT_TRANSPORT = "urllib3"


def _urllib3_factory(config: ClientConfig) -> Urllib3Transport:
    from .transports.urllib3_transport import Urllib3Transport

    return Urllib3Transport.from_config(config)


@hookimpl(trylast=True)
def replicate_register_transports(register: Callable[..., None]) -> None:
    register(DEFAULT_TRANSPORT, _urllib3_factory, sync=True)


@hookimpl(trylast=True)
def replicate_auth_provider(config: ClientConfig) -> TokenAuth:
    from ._auth import TokenAuth

    return TokenAuth()


@hookimpl(trylast=True)
def replicate_retry_policy(config: ClientConfig) -> DefaultRetryPolicy:
    from ._retry import DefaultRetryPolicy

    return DefaultRetryPolicy()


@hookimpl(trylast=True)
def replicate_encode_input(value: Any, context: Any) -> Any:
    # Files become Upload markers (the create's flow uploads them all at once) or data: URLs;
    # numpy values, datetimes and the like their JSON form; None if unknown (a TypeError).
    from ._inputs import encode_builtin

    return encode_builtin(value, context)


@hookimpl(trylast=True)
def replicate_register_file_hosts(register: Callable[[str], None]) -> None:
    from ._outputs import DELIVERY_HOSTS

    for host in DELIVERY_HOSTS:
        register(host)


@hookimpl(trylast=True)
def replicate_decode_output(value: Any, schema: Any, context: Any) -> Any:
    from ._outputs import decode_output

    return decode_output(
        value,
        schema,
        core=context.core,
        client=context.client,
        use_file_output=context.use_file_output,
    )
