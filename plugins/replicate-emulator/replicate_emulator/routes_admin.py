"""Routes to control a running emulator, outside the API (``/emulator/...``, no token):
fault rules, and the webhook attempts made so far. They let a test drive a served
emulator (``replicate-emulator serve``) from another process."""

from __future__ import annotations

from typing import Any

from .faults import FaultRule
from .wire import EmuRequest, EmuResponse, HTTPError, Router, json_response

routes = Router()


@routes.route("GET", "/emulator/faults")
def list_faults(emu: Any, req: EmuRequest) -> Any:
    return emu.faults.as_json()


@routes.route("POST", "/emulator/faults")
def add_faults(emu: Any, req: EmuRequest) -> EmuResponse:
    """Add one rule (a JSON object) or several (an array); 201 with the rules added."""
    body = req.json()
    docs = body if isinstance(body, list) else [body]
    try:
        rules = [FaultRule.from_dict(doc) for doc in docs]
    except (TypeError, ValueError) as exc:
        raise HTTPError(422, f"Invalid fault rule: {exc}") from None
    added = [emu.faults.add(rule).as_json() for rule in rules]
    return json_response(201, {"rules": added})


@routes.route("DELETE", "/emulator/faults")
def clear_faults(emu: Any, req: EmuRequest) -> EmuResponse:
    emu.faults.clear()
    return EmuResponse(204)


@routes.route("GET", "/emulator/webhooks")
def list_webhooks(emu: Any, req: EmuRequest) -> Any:
    """Every webhook attempt, oldest first (the body as the JSON payload sent)."""
    return {
        "results": [
            {
                "url": d.url,
                "event": d.event,
                "attempt": d.attempt,
                "webhook_id": d.webhook_id,
                "timestamp": d.timestamp,
                "status": d.status,
                "error": d.error,
                "payload": d.payload,
            }
            for d in emu.webhooks.deliveries()
        ]
    }
