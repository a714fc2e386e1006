"""v2's ``replicate.types.webhooks``: its one submodule is :mod:`.default`."""

__all__: list[str] = []
