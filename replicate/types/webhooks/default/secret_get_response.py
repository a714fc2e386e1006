"""v2's ``replicate.types.webhooks.default.secret_get_response``: the webhook signing secret."""

from ... import SecretGetResponse

__all__ = ["SecretGetResponse"]
