"""Webhook deliveries, signed as Replicate signs them, sent from a background thread.

The runner calls :meth:`Webhooks.notify` on every change of a prediction or training; this
module decides whether the change is delivered (the ``webhook_events_filter``, and the API's
throttle of ``output``/``logs`` events to one per 500 ms per prediction), then POSTs the JSON
from one worker thread, so that a slow or dead receiver never holds up a prediction. Failed
attempts (a connection error, or an answer other than 2xx) are tried again after the
``retry_delays``; every attempt is recorded in :attr:`Webhooks.sent` for tests to assert on.

Signatures follow Standard Webhooks, as the service does: ``webhook-signature`` is
``v1,<base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{body}"))>``, where ``key`` is
the base64-decoded part of the ``whsec_`` secret (``GET /v1/webhooks/default/secret``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac
import itertools
import os
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

__all__ = ["EVENTS", "Delivery", "Webhooks", "new_secret", "sign"]

#: The events a ``webhook_events_filter`` may list.
EVENTS = ("start", "output", "logs", "completed")

#: Without a filter the API sends "new outputs and the completion" (the prediction request's
#: documentation of ``webhook_events_filter``).
DEFAULT_EVENTS: tuple[str, ...] = ("output", "completed")

USER_AGENT = "replicate-emulator-webhooks/0.1"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    encoded = secret[6:] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise ValueError("a webhook secret is 'whsec_' followed by base64")
    return key


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one delivery."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _message_id() -> str:
    return "msg_" + "".join(secrets.choice(_ALPHABET) for _ in range(27))


@dataclass
class Delivery:
    """One attempt at delivering one webhook message.

    ``status`` is the receiver's HTTP status, or None when no answer came (then ``error``
    says why). ``attempt`` counts from 1; retries of a message share its ``webhook_id``.
    """

    url: str
    event: str
    payload: dict[str, Any]
    attempt: int
    webhook_id: str
    timestamp: int
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Message:
    url: str
    event: str
    key: str
    body: bytes
    payload: dict[str, Any]
    webhook_id: str = field(default_factory=_message_id)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The service does not follow redirects: a 3xx answer is a failed attempt."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Webhooks:
    """Delivers and records the webhooks of one emulator.

    :param secret: the ``whsec_`` signing secret; by default the one kept in ``state``
        (kind ``"setting"``), made once and kept there, so a restarted server signs alike.
    :param retry_delays: seconds to wait before each retry of a failed attempt; their number
        is the number of retries.
    :param throttle: the least time between two ``output``/``logs`` deliveries of one
        prediction; a change within it is delivered when it has passed (the newest state only),
        unless the prediction completes first.
    """

    def __init__(
        self,
        secret: str | None = None,
        state: Any = None,
        *,
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
        timeout: float = 10.0,
        throttle: float = 0.5,
        default_events: Iterable[str] = DEFAULT_EVENTS,
        clock: Callable[[], float] = time.time,
        user_agent: str = USER_AGENT,
    ) -> None:
        if secret is None:
            stored = state.get("setting", "webhook_secret") if state is not None else None
            if stored is not None:
                secret = str(stored["value"])
            else:
                secret = new_secret()
                if state is not None:
                    state.put("setting", "webhook_secret", {"value": secret})
        _secret_key(secret)  # a malformed secret fails here, not at the first delivery
        self.secret = secret
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.throttle = throttle
        self.default_events = tuple(default_events)
        self.clock = clock
        self.user_agent = user_agent
        #: Every attempt, in the order they were made.
        self.sent: list[Delivery] = []
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        #: Per prediction: when its last output/logs delivery was queued, and the newest
        #: throttled change waiting for the window to pass.
        self._last: dict[str, float] = {}
        self._pending: dict[str, _Message] = {}

    # -- what the runner calls --------------------------------------------------------------

    def notify(self, doc: dict[str, Any], event: str) -> None:
        """A prediction or training changed (``event`` is ``start``, ``output``, ``logs`` or
        ``completed``): deliver ``doc`` to its ``webhook`` if its filter asks for the event."""
        url = doc.get("webhook")
        if not url or self._closed:
            return
        events = doc.get("webhook_events_filter") or self.default_events
        if event not in events:
            return
        payload = {k: v for k, v in doc.items() if not k.startswith("_")}
        body = _encode(payload)
        key = str(doc.get("id", url))
        message = _Message(str(url), event, key, body, _decode(body))
        now = time.monotonic()
        with self._cond:
            if event in ("output", "logs"):
                last = self._last.get(key)
                if last is not None and now - last < self.throttle:
                    if key not in self._pending:
                        self._schedule(last + self.throttle, lambda: self._flush(key))
                    self._pending[key] = message
                    return
                self._last[key] = now
            elif event == "completed":
                self._pending.pop(key, None)
                self._last.pop(key, None)
            self._schedule(now, lambda: self._attempt(message, 1))

    # -- assertions -------------------------------------------------------------------------

    def deliveries(self, id: str | None = None, *, event: str | None = None) -> list[Delivery]:
        """The attempts made, optionally those for one prediction id and/or one event."""
        with self._cond:
            found = list(self.sent)
        return [
            d
            for d in found
            if (id is None or d.payload.get("id") == id) and (event is None or d.event == event)
        ]

    def wait_delivered(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued, waiting for its throttle window or being sent (retries
        included); False if that took longer than ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop the worker; messages not yet delivered are dropped."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.timeout + 1.0)

    # -- the worker -------------------------------------------------------------------------

    def _schedule(self, due: float, job: Callable[[], None]) -> None:
        """Queue ``job`` for ``due`` (time.monotonic); called with the lock held."""
        if self._closed:
            return
        heapq.heappush(self._queue, (due, next(self._seq), job))
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name="replicate-emulator-webhooks", daemon=True
            )
            self._thread.start()
        self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._queue:
                        wait = self._queue[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._closed:
                    return
                _, _, job = heapq.heappop(self._queue)
                self._busy += 1
            try:
                job()
            except Exception:  # a bug in a job must not stop later deliveries
                pass
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _flush(self, key: str) -> None:
        with self._cond:
            message = self._pending.pop(key, None)
            if message is None:
                return
            self._last[key] = time.monotonic()
        self._attempt(message, 1)

    def _attempt(self, message: _Message, attempt: int) -> None:
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            "webhook-id": message.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.secret, message.webhook_id, timestamp, message.body),
        }
        delivery = Delivery(
            message.url,
            message.event,
            message.payload,
            attempt,
            message.webhook_id,
            timestamp,
            message.body,
            headers,
        )
        retry = True
        try:
            if urllib.parse.urlsplit(message.url).scheme not in ("http", "https"):
                raise ValueError(f"not an http(s) URL: {message.url!r}")
            request = urllib.request.Request(
                message.url, data=message.body, headers=headers, method="POST"
            )
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
                delivery.status = response.status
        except urllib.error.HTTPError as exc:
            delivery.status = exc.code
            exc.close()
        except ValueError as exc:  # not an http(s) URL: no retry would help
            delivery.error = f"{type(exc).__name__}: {exc}"
            retry = False
        except Exception as exc:  # connection refused, reset, timed out...
            delivery.error = f"{type(exc).__name__}: {exc}"
        with self._cond:
            self.sent.append(delivery)
            if retry and not delivery.ok and attempt <= len(self.retry_delays):
                delay = self.retry_delays[attempt - 1]
                self._schedule(
                    time.monotonic() + delay, lambda: self._attempt(message, attempt + 1)
                )
