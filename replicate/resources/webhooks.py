"""``client.webhooks``: the signing secret for webhooks, and checking a delivery's signature."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import webhooks as _webhooks
from ..types import WebhookSecret
from ._base import Resource, check_options

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typing_extensions import Unpack

    from ._base import RequestOptions


class Webhooks(Resource):
    """Webhooks: ``client.webhooks.default.secret.get()`` and ``client.webhooks.validate(...)``."""

    __slots__ = ()

    @property
    def default(self) -> DefaultWebhooks:
        """The default webhook (v2's ``webhooks.default``)."""
        return DefaultWebhooks(self._client)

    @staticmethod
    def validate(
        request: Any = None,
        headers: Mapping[str, str] | Any = None,
        body: bytes | bytearray | memoryview | str | None = None,
        secret: str | Any = None,
        tolerance: float | None = _webhooks.DEFAULT_TOLERANCE,
        *,
        now: float | None = None,
    ) -> bool:
        """Check a webhook delivery's signature and timestamp; return True or raise
        :class:`~replicate.WebhookVerificationError`.

        ``client.webhooks.validate(headers=..., body=raw_body, secret="whsec_...")``, or
        ``request=`` any request object with ``.headers`` and a raw body; ``secret`` may be the
        :class:`~replicate.types.WebhookSecret` from ``webhooks.default.secret.get()``. See
        :func:`replicate.webhooks.validate`.
        """
        return _webhooks.Webhooks.validate(request, headers, body, secret, tolerance, now=now)


class DefaultWebhooks(Resource):
    """``client.webhooks.default``."""

    __slots__ = ()

    @property
    def secret(self) -> DefaultWebhookSecret:
        return DefaultWebhookSecret(self._client)


class DefaultWebhookSecret(Resource):
    """``client.webhooks.default.secret``."""

    __slots__ = ()

    def get(self, **options: Unpack[RequestOptions]) -> WebhookSecret:
        """The signing secret for webhooks (``GET /webhooks/default/secret``): its ``key``,
        ``whsec_...``, is what :meth:`Webhooks.validate` takes as ``secret``."""
        check_options("get", options)
        return self._call(  # type: ignore[no-any-return]
            "GET", "/webhooks/default/secret", cast=WebhookSecret, options=options
        )


__all__ = ["DefaultWebhookSecret", "DefaultWebhooks", "Webhooks"]
