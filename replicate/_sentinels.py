"""``NOT_GIVEN`` and ``omit``: "the caller did not pass this", as distinct from None.

The official v2 SDK exports these names; code that passes them explicitly keeps working.
"""

from __future__ import annotations


class NotGiven:
    """A sentinel for an argument that was not passed (None may be a meaningful value)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()
not_given = NOT_GIVEN


class Omit:
    """Passed as a header value (``extra_headers={"X": omit}``) to remove a default header."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "omit"


omit = Omit()
