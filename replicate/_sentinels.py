"""``NOT_GIVEN`` and ``omit``: "the caller did not pass this", as distinct from None.

The official v2 SDK exports these names; code that passes them explicitly keeps working.
:func:`given` keeps, of a call's keyword arguments, those the caller passed.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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


def given(**fields: Any) -> dict[str, Any]:
    """The fields the caller actually passed (drops NOT_GIVEN)."""
    return {k: v for k, v in fields.items() if not isinstance(v, NotGiven)}
