"""Transports move bytes and do nothing else; see :class:`replicate.SyncTransport`.

The built-in one is :mod:`replicate.transports.urllib3_transport` (imported on first use). Others
come from plugins that implement ``replicate_register_transports``.
"""
