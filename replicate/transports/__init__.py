"""Transports move bytes and do nothing else; see :class:`replicate.SyncTransport`.

The built-in one is :mod:`replicate.transports.urllib3_transport` (imported on first use). Others
come from plugins that implement ``replicate_register_transports``. What every transport
repeats (the SDK's errors worded alike, deadlines, environment proxies, repeated headers, a base
for streamed bodies) is in :mod:`replicate.transports.helpers`, for transport authors; nothing
here imports it.
"""
