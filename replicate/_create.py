"""A prediction create's ``Prefer`` and ``Cancel-After`` headers and its JSON body, checked.

``predictions.create``, ``models.predictions.create`` and ``deployments.predictions.create``
send what these build; ``_run.prepare_create`` (behind ``run``, ``use`` and ``stream``) checks
its options with them. So a bad ``wait``, ``prefer``, ``cancel_after`` or ``input`` raises the
same error whichever way a prediction is created, before any file is uploaded.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from ._sentinels import NotGiven, given

__all__ = ["create_headers", "duration_header", "prediction_body"]


def create_headers(
    *,
    prefer: str | NotGiven,
    wait: bool | int | NotGiven,
    cancel_after: str | int | float | NotGiven,
) -> dict[str, str]:
    """The ``Prefer`` and ``Cancel-After`` headers of a create call, checked before sending."""
    headers: dict[str, str] = {}
    if not isinstance(prefer, NotGiven) and not isinstance(wait, NotGiven):
        raise TypeError("cannot mix and match prefer and wait")
    if not isinstance(wait, NotGiven):
        if wait is True:
            headers["Prefer"] = "wait"
        elif wait is False:
            pass
        elif isinstance(wait, int) and 1 <= wait <= 60:
            headers["Prefer"] = f"wait={wait}"
        else:
            raise ValueError(
                f"wait must be True, False or a whole number of seconds 1..60, not {wait!r}"
            )
    elif not isinstance(prefer, NotGiven):
        if not isinstance(prefer, str) or not prefer or "\n" in prefer or "\r" in prefer:
            raise ValueError(
                f"prefer must be a header value such as 'wait' or 'wait=10', not {prefer!r}"
            )
        headers["Prefer"] = prefer
    if not isinstance(cancel_after, NotGiven):
        headers["Cancel-After"] = duration_header("cancel_after", cancel_after)
    return headers


def duration_header(name: str, value: object) -> str:
    """A ``Cancel-After`` value: a duration string such as ``"5m"``/``"1h30m"``, or seconds."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a duration such as '5m' or a number of seconds")
    if isinstance(value, (int, float)):
        if value < 5:
            raise ValueError(f"{name} must be at least 5 seconds, got {value!r}")
        return f"{int(value)}s" if float(value).is_integer() else f"{value}s"
    if isinstance(value, _dt.timedelta):
        return duration_header(name, value.total_seconds())
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value:
        return value.strip()
    raise ValueError(
        f"{name} must be a duration such as '5m' or a number of seconds, not {value!r}"
    )


def prediction_body(
    *,
    input: Mapping[str, Any],
    webhook: str | NotGiven,
    webhook_events_filter: list[str] | NotGiven,
    stream: bool | NotGiven,
    **more: Any,
) -> dict[str, Any]:
    """A create's JSON body: ``more`` (``version``) and ``input``, then the options given."""
    if not isinstance(input, Mapping):
        raise TypeError(
            f"input must be a mapping of input names to values, not {type(input).__name__}"
        )
    return {
        **given(**more),
        "input": dict(input),
        **given(webhook=webhook, webhook_events_filter=webhook_events_filter, stream=stream),
    }
