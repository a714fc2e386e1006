"""Where the reference data lives, for the tests that check the SDK against it.

The reference data is Replicate's OpenAPI spec (``replicate-openapi.json``), real recorded API
traffic from the official SDK's tests (``v1-cassettes/``) and the published webhook signature
test vector (``v1-cassettes/fixtures/webhook-signature-vector.json``). It is kept outside this
repository, in the team's ``shared/reference`` folder beside the checkout; one setting,
``REPLICATE_REFERENCE_DIR``, points the tests at another copy.

Tests that need it carry ``@pytest.mark.reference``. Without the data those tests are skipped
with one line saying what is missing and how to supply it (see ``conftest.py``); every other test
runs. Under ``CI=true`` a missing reference directory is an error, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "REPLICATE_REFERENCE_DIR"
#: ``../shared/reference`` from the project root.
DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "reference"

SPEC_NAME = "replicate-openapi.json"
CASSETTES_NAME = "v1-cassettes"
WEBHOOK_VECTOR_NAME = "v1-cassettes/fixtures/webhook-signature-vector.json"


class ReferenceError(RuntimeError):
    """``REPLICATE_REFERENCE_DIR`` names something that is not a directory."""


#: The setting as the test run started: read once, because the tests themselves clear every
#: ``REPLICATE_*`` variable (conftest.py) before each test.
_SETTING = os.environ.get(ENV_VAR)


def location() -> Path:
    """Where the reference data is looked for (whether or not it is there)."""
    return Path(_SETTING).expanduser().resolve() if _SETTING else DEFAULT


def directory() -> Path | None:
    """The reference directory, or None when it is not there.

    A ``REPLICATE_REFERENCE_DIR`` that does not name a directory is an error, not a skip: the
    setting was given and is wrong.
    """
    path = location()
    if path.is_dir():
        return path
    if _SETTING:
        raise ReferenceError(f"{ENV_VAR}={_SETTING!r} is not a directory")
    return None


def available() -> bool:
    return directory() is not None


def path(name: str) -> Path:
    """A file or folder of the reference data; only for tests marked ``reference``."""
    root = directory()
    if root is None:
        raise ReferenceError(missing_message())
    return root / name


def missing_message() -> str:
    return (
        f"reference data not found at {location()}: set {ENV_VAR} to a copy of the team's "
        "shared/reference folder (Replicate's OpenAPI spec, recorded API traffic, the webhook "
        "test vector)"
    )
