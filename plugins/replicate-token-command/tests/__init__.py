"""The replicate-token-command plugin's tests (a package, so its conftest never shadows another
top-level ``conftest`` module when both test trees run in one pytest session)."""
