"""For auth provider authors: the provider protocol, the built-in token auth, and the view of a
request's body that a provider signing it reads.

An auth provider is an object with ``auth_headers(request) -> Mapping[str, str]`` (and
optionally ``refresh(request, response) -> bool``), passed as ``Replicate(auth=provider)`` or
returned by a plugin's ``replicate_auth_provider`` hook; see :class:`AuthProvider` and
``replicate.hookspecs``. A provider that signs the body reads it with :func:`body_bytes` or
:func:`body_digest` (in ``async def auth_headers``: :func:`abody_bytes`, :func:`abody_digest`),
which give exactly the bytes that will be sent, whatever the body is (JSON, bytes, a file, an
upload's multipart body), without consuming it::

    import hashlib, hmac
    from replicate.auth import body_digest

    class Signer:
        def auth_headers(self, request):
            body_sha256 = body_digest(request).hexdigest()
            ...
"""

from __future__ import annotations

from ._auth import (
    AuthProvider,
    TokenAuth,
    abody_bytes,
    abody_digest,
    body_bytes,
    body_digest,
    iter_body,
)

__all__ = [
    "AuthProvider",
    "TokenAuth",
    "abody_bytes",
    "abody_digest",
    "body_bytes",
    "body_digest",
    "iter_body",
]
