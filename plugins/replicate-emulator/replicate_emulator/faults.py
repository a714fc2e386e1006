"""Fault injection: make chosen routes slow, failing, throttled or cut off, on purpose.

A :class:`FaultRule` names the requests it applies to (``route``) and what it does to them:
``latency`` (seconds of delay), ``status``/``error_rate`` (answer an error instead),
``burst_429`` (answer the next N requests 429, with ``retry_after`` seconds in a
``Retry-After`` header, as a number or, with ``retry_after_date``, an HTTP date), ``body`` and
``content_type`` (the injected error's page, such as a proxy's HTML), ``redirect`` (answer
``redirect_status`` pointing at the same path on another origin), ``drop`` (close the
connection before any answer, or in the middle of the body), ``truncate`` (send only the first N
bytes of the body, announced longer), ``cut_body`` (answer only the first N bytes of the body,
framed as the whole of it: a JSON document cut short), ``stall_sse`` (pause a stream after its
first chunk) and ``sse_retry`` (the reconnection time, in milliseconds, a stream announces).
``times`` bounds how often a rule applies and ``probability`` makes it apply at random; with a
``seed`` (the rule's or the :class:`Faults`' own) the random choices repeat exactly from run to
run.

The emulator asks :meth:`Faults.before` ahead of routing (a delay, or an answer in place of the
real one) and :meth:`Faults.after` on the real answer (directives that the transport or the
server carry out). The admin routes (``/emulator/faults``, ``/emulator/webhooks``) are never
faulted, so that faults can always be listed and cleared over HTTP.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

import msgspec

from .wire import EmuRequest, EmuResponse, problem

__all__ = ["FaultRule", "Faults"]

#: Paths no rule applies to.
ADMIN_PATHS = ("/emulator/faults", "/emulator/webhooks")

_ERROR_DETAILS = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}


@dataclass
class FaultRule:
    """One fault and the requests it applies to.

    ``route`` is ``"*"`` (every request), or ``"METHOD PATH"`` / ``"PATH"`` where PATH is a
    route's pattern (``/v1/predictions/{id}``) or a glob of request paths
    (``/v1/predictions/*``) and METHOD may be ``*``. A rule applies to a matching request with
    ``probability``, at most ``times`` times (None: always); ``error_rate`` is the chance that
    an application answers with ``status`` (a code, or a list to pick from at random), and
    giving ``status`` alone means every application does. A rule with no effect at all still
    counts the requests it matches in ``fired``.
    """

    route: str = "*"
    latency: float = 0.0
    error_rate: float = 0.0
    status: int | list[int] | None = None
    drop: str | None = None
    truncate: int | None = None
    burst_429: int | None = None
    retry_after: float | None = None
    retry_after_date: bool = False
    body: str | None = None
    content_type: str | None = None
    redirect: str | None = None
    redirect_status: int = 307
    cut_body: int | None = None
    stall_sse: float | None = None
    sse_retry: int | None = None
    times: int | None = None
    probability: float = 1.0
    seed: int | str | None = None
    #: How many times the rule applied so far.
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.route, str) or not self.route.strip():
            raise ValueError("route must be '*', 'METHOD /path' or '/path'")
        if self.drop not in (None, "before", "mid"):
            raise ValueError("drop must be 'before', 'mid' or None")
        for name in ("error_rate", "probability"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number from 0 to 1")
        for name in ("latency", "stall_sse", "retry_after"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"{name} must be a number of seconds >= 0")
        for name in ("truncate", "burst_429", "times", "cut_body", "sse_retry"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(f"{name} must be an integer >= 0")
        statuses = self.status if isinstance(self.status, list) else [self.status]
        for status in statuses:
            if status is not None and (
                isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
            ):
                raise ValueError("status must be an HTTP error code (400-599) or a list of them")
        if isinstance(self.status, list) and not self.status:
            raise ValueError("status must not be an empty list")
        if self.redirect is not None and (
            not isinstance(self.redirect, str) or "://" not in self.redirect
        ):
            raise ValueError("redirect must be an origin such as 'http://localhost:8787'")
        if self.redirect_status not in (301, 302, 303, 307, 308):
            raise ValueError("redirect_status must be 301, 302, 303, 307 or 308")
        for name in ("body", "content_type"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.status is not None and self.error_rate == 0.0:
            self.error_rate = 1.0
        self._rng: random.Random | None = None
        self._burst_left = self.burst_429

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FaultRule:
        """From JSON (``POST /emulator/faults``, ``--faults``); unknown keys are an error."""
        if not isinstance(doc, Mapping):
            raise ValueError("a fault rule is a JSON object")
        names = {f.name for f in fields(cls)} - {"fired"}
        unknown = sorted(set(doc) - names)
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {', '.join(unknown)}")
        return cls(**dict(doc))

    def as_json(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        return doc

    @property
    def exhausted(self) -> bool:
        if self.times is not None and self.fired >= self.times:
            return True
        return self.burst_429 is not None and not self._burst_left

    def matches(self, method: str, path: str, route_key: str) -> bool:
        spec = self.route.strip()
        if spec == "*":
            return True
        want_method, _, want_path = spec.partition(" ")
        if not want_path:
            want_method, want_path = "*", spec
        want_path = want_path.strip()
        if want_method != "*" and want_method.upper() != method.upper():
            return False
        key_path = route_key.partition(" ")[2] if " " in route_key else route_key
        return (
            want_path in (key_path, path)
            or fnmatch.fnmatchcase(path, want_path)
            or fnmatch.fnmatchcase(key_path, want_path)
        )

    @property
    def acts_after(self) -> bool:
        return (
            self.drop == "mid"
            or self.truncate is not None
            or self.stall_sse is not None
            or self.cut_body is not None
            or self.sse_retry is not None
        )

    @property
    def answers_before(self) -> bool:
        """Whether the rule may answer in place of the route (or delay it) in ``before``."""
        return bool(
            self.latency
            or self.drop == "before"
            or self.error_rate
            or self.burst_429
            or self.redirect is not None
        )


def _error(status: int, rule: FaultRule) -> EmuResponse:
    if rule.body is not None:
        ctype = rule.content_type or "text/html; charset=utf-8"
        return EmuResponse(status, [("Content-Type", ctype)], rule.body.encode())
    return problem(status, _ERROR_DETAILS.get(status, "Injected error"))


def _throttled(rule: FaultRule) -> EmuResponse:
    seconds = 1.0 if rule.retry_after is None else float(rule.retry_after)
    if rule.retry_after_date:  # whole seconds, as HTTP dates have
        value = formatdate(time.time() + seconds, usegmt=True)
    else:
        value = str(int(seconds)) if seconds == int(seconds) else repr(seconds)
    return problem(
        429,
        f"Request was throttled. Your rate limit resets in ~{max(1, round(seconds))}s.",
        title="Request was throttled",
        headers=[("Retry-After", value)],
    )


def _redirected(req: EmuRequest, rule: FaultRule) -> EmuResponse:
    target = rule.redirect.rstrip("/") + req.path  # type: ignore[union-attr]
    if req.query:
        target += "?" + urlencode(req.query, doseq=True)
    return EmuResponse(rule.redirect_status, [("Location", target)])


def _announce_retry(body: Iterator[bytes], ms: int) -> Iterator[bytes]:
    """A stream whose ``retry:`` lines say ``ms``."""
    try:
        for chunk in body:
            if b"retry:" in chunk:
                lines = chunk.split(b"\n")
                chunk = b"\n".join(
                    b"retry: %d" % ms if line.startswith(b"retry:") else line for line in lines
                )
            yield chunk
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


class Faults:
    """The fault rules of one emulator, tried in the order they were added."""

    def __init__(
        self,
        rules: Iterable[FaultRule | Mapping[str, Any]] = (),
        *,
        seed: int | str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.seed = seed
        self.sleep = sleep
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._added = 0
        #: Rules applied by ``before`` whose effect comes in ``after``, by request.
        self._later: dict[int, tuple[EmuRequest, list[FaultRule]]] = {}
        for rule in rules:
            self.add(rule)

    @classmethod
    def from_option(cls, option: Any) -> Faults:
        """From ``Emulator(faults=...)`` or ``--faults``: None, a Faults (used as it is), a
        rule, a list of rules (FaultRule or dict), ``{"seed": ..., "rules": [...]}`` or that
        as a JSON string."""
        if isinstance(option, Faults):
            return option
        if option is None:
            return cls()
        if isinstance(option, (str, bytes)):
            option = msgspec.json.decode(option)
        if isinstance(option, FaultRule):
            return cls([option])
        if isinstance(option, Mapping):
            if "rules" in option:
                extra = sorted(set(option) - {"rules", "seed"})
                if extra:
                    raise ValueError(f"unknown faults field(s): {', '.join(extra)}")
                return cls(option["rules"] or (), seed=option.get("seed"))
            return cls([option])
        if isinstance(option, (list, tuple)):
            return cls(option)
        raise TypeError(f"faults must be rules or a Faults, not {type(option).__name__}")

    @property
    def active(self) -> bool:
        """Whether any rule is set: read on every request, so it takes no lock (a rule added
        while a request is under way applies from the next one)."""
        return bool(self._rules)

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def add(self, rule: FaultRule | Mapping[str, Any] | None = None, /, **kwargs: Any) -> FaultRule:
        """Add a rule: a FaultRule, a dict, or its fields as keywords
        (``faults.add(route="POST /v1/predictions", status=503, times=1)``)."""
        if rule is None:
            rule = FaultRule.from_dict(kwargs)
        elif kwargs:
            raise TypeError("pass a rule or keyword fields, not both")
        elif not isinstance(rule, FaultRule):
            rule = FaultRule.from_dict(rule)
        with self._lock:
            if rule.seed is not None:
                rule._rng = random.Random(rule.seed)
            elif self.seed is not None:
                rule._rng = random.Random(f"{self.seed}:{self._added}")
            else:
                rule._rng = random.Random()
            self._added += 1
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._later.clear()

    def as_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [rule.as_json() for rule in self.rules]}

    def _apply(self, rule: FaultRule) -> bool:
        """Whether ``rule`` applies this time (counted); called with the lock held."""
        if rule.exhausted:
            return False
        rng = rule._rng or random.Random()
        if rule.probability < 1.0 and rng.random() >= rule.probability:
            return False
        rule.fired += 1
        return True

    def before(self, req: EmuRequest, route_key: str) -> EmuResponse | None:
        """Delay ``req`` and/or answer it in place of its route (None: route it)."""
        if not self._rules or req.path.startswith(ADMIN_PATHS):
            return None
        latency = 0.0
        answer: EmuResponse | None = None
        later: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(req.method, req.path, route_key) or not self._apply(rule):
                    continue
                latency += rule.latency
                if rule.acts_after:
                    later.append(rule)
                if answer is not None:
                    continue
                rng = rule._rng or random.Random()
                if rule._burst_left:
                    rule._burst_left -= 1
                    answer = _throttled(rule)
                elif rule.redirect is not None:
                    answer = _redirected(req, rule)
                elif rule.drop == "before":
                    answer = EmuResponse(502, drop="before")
                elif rule.error_rate and (rule.error_rate >= 1.0 or rng.random() < rule.error_rate):
                    status = rule.status if rule.status is not None else 500
                    answer = _error(
                        rng.choice(status) if isinstance(status, list) else status, rule
                    )
            if later and answer is None:
                if len(self._later) > 1024:  # answers that never came back through after()
                    self._later.pop(next(iter(self._later)))
                self._later[id(req)] = (req, later)
        if latency:
            self.sleep(latency)
        return answer

    def after(self, req: EmuRequest, route_key: str, resp: EmuResponse) -> EmuResponse:
        """Set the drop/truncate/stall directives of the rules that apply to ``resp``."""
        if req.path.startswith(ADMIN_PATHS):
            return resp
        with self._lock:
            entry = self._later.pop(id(req), None)
            if entry is not None and entry[0] is req:
                rules = entry[1]
            else:  # not seen by before(): the rules that act only here decide now
                rules = [
                    rule
                    for rule in self._rules
                    if rule.acts_after
                    and not rule.answers_before
                    and rule.matches(req.method, req.path, route_key)
                    and self._apply(rule)
                ]
        streamed = not isinstance(resp.body, (bytes, bytearray))
        for rule in rules:
            if rule.drop == "mid":
                resp.drop = "mid"
            if rule.truncate is not None:
                resp.truncate = rule.truncate
            if rule.stall_sse is not None and streamed:
                resp.stall = rule.stall_sse
            body = resp.body
            if rule.cut_body is not None and isinstance(body, (bytes, bytearray)):
                resp.body = bytes(body[: rule.cut_body])
            if rule.sse_retry is not None and streamed:
                resp.body = _announce_retry(resp.body, rule.sse_retry)  # type: ignore[arg-type]
        return resp
