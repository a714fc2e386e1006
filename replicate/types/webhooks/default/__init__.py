"""v2's ``replicate.types.webhooks.default``: ``GET /webhooks/default/secret``."""

from .secret_get_response import SecretGetResponse

__all__ = ["SecretGetResponse"]
