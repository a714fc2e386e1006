"""The default client as the lower layers reach it, without importing ``_default``.

A :class:`~replicate.FileOutput` made without a client (built from a URL, or unpickled), a
function from ``replicate.use()`` and ``replicate.webhooks.default`` use the module-level client.
That client is built by ``_default``, which imports ``_client``, which imports those layers; so
they call :func:`default_client` here, and the package face (``replicate/__init__.py``, which
runs before any submodule) installs the provider: ``_default.default_client``, imported on its
first call. This module imports nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ._async_client import AsyncReplicate
    from ._client import Replicate

_provider: Callable[[], Replicate] | None = None
_async_provider: Callable[[], AsyncReplicate] | None = None


def install(
    provider: Callable[[], Replicate], async_provider: Callable[[], AsyncReplicate]
) -> None:
    """Set the functions that give the default clients (the package face calls it once)."""
    global _provider, _async_provider
    _provider = provider
    _async_provider = async_provider


def default_client() -> Replicate:
    """The module-level client (``replicate.default_client()``), built on first use."""
    provider = _provider
    if provider is None:  # only if ``replicate/__init__.py`` stopped before installing it
        raise RuntimeError("replicate's default client is unavailable: the package is not loaded")
    return provider()


def default_async_client() -> AsyncReplicate:
    """The module-level async client (``replicate.async_run`` and ``use(..., use_async=True)``),
    built on first use."""
    provider = _async_provider
    if provider is None:  # only if ``replicate/__init__.py`` stopped before installing it
        raise RuntimeError("replicate's default client is unavailable: the package is not loaded")
    return provider()
