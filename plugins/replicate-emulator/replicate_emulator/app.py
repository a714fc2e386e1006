"""The emulator: every component of one offline Replicate API, and the request path through them.

:meth:`Emulator.handle` takes an :class:`~.wire.EmuRequest` and always returns an
:class:`~.wire.EmuResponse`: it finds the route, applies the rate limits, the fault rules and
the authentication, then calls the handler; an unknown path is a 404 problem, a known path with
another method a 405, and a handler bug a 500 problem (logged, and kept in
:attr:`Emulator.errors`), never an exception.

Routing is a dict lookup on the path's segment count and first two segments, then a literal
comparison of the few candidates, because ``GET /v1/predictions/{id}`` is what clients poll.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from . import routes_admin, routes_catalog, routes_files, routes_predictions
from .blobs import Blobs
from .catalog import Catalog
from .faults import Faults
from .ratelimit import RateLimiter
from .registry import Registry
from .runner import Runner
from .state import State, open_state
from .webhooks import Webhooks
from .wire import EmuRequest, EmuResponse, HTTPError, Router, json_response, problem

__all__ = ["Emulator"]

log = logging.getLogger("replicate_emulator")

#: Route modules, in the order their routes are tried.
ROUTERS: tuple[Router, ...] = (
    routes_predictions.routes,
    routes_catalog.routes,
    routes_files.routes,
    routes_admin.routes,
)

#: Routes a client reaches without a token: signed download URLs carry their own proof.
PUBLIC_ROUTES = frozenset({"GET /v1/files/{file_id}/download"})

#: Routes counted against the create limit (600/min) rather than the other (3000/min).
CREATE_ROUTES = frozenset(
    {
        "POST /v1/predictions",
        "POST /v1/models/{owner}/{name}/predictions",
        "POST /v1/deployments/{owner}/{name}/predictions",
        "POST /v1/models/{owner}/{name}/versions/{version_id}/trainings",
    }
)

_NO_TOKEN = "You did not pass an authentication token"
_BAD_TOKEN = "You did not pass a valid authentication token"


class _Route:
    __slots__ = ("auth", "create", "handler", "key", "literals", "method", "names", "regex")

    def __init__(self, method: str, regex: Any, pattern: str, handler: Callable[..., Any]):
        self.method = method
        self.regex = regex
        self.handler = handler
        self.key = f"{method} {pattern}"
        segments = pattern.strip("/").split("/")
        #: Per segment: the literal text, or None for a parameter.
        self.literals = tuple(None if s.startswith("{") else s for s in segments)
        self.names = tuple(s[1:-1] for s in segments if s.startswith("{"))
        self.auth = pattern.startswith("/v1/") and self.key not in PUBLIC_ROUTES
        self.create = self.key in CREATE_ROUTES


class _Table:
    """Routes by (segment count, first segment, second segment), and the rest by regex."""

    def __init__(self, routers: Iterable[Router]) -> None:
        self.exact: dict[tuple[int, str, str], list[_Route]] = {}
        self.other: list[_Route] = []
        self.cache: dict[tuple[str, str], tuple[_Route, dict[str, str]]] = {}
        for router in routers:
            for method, regex, pattern, handler in router.routes:
                route = _Route(method, regex, pattern, handler)
                lits = route.literals
                if ":path}" in pattern or len(lits) < 2 or lits[0] is None or lits[1] is None:
                    self.other.append(route)
                else:
                    self.exact.setdefault((len(lits), lits[0], lits[1]), []).append(route)
        for routes in self.exact.values():  # more literal segments first
            routes.sort(key=lambda r: -sum(s is not None for s in r.literals))

    def match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str], list[str]]:
        """The route and its parameters; else None and the methods the path allows.

        Matches are remembered by (method, path): a client polling one prediction costs a
        dict lookup. Handlers get their own copy of the parameters."""
        hit = self.cache.get((method, path))
        if hit is not None:
            return hit[0], dict(hit[1]), []
        found = self._match(method, path)
        if found[0] is not None:
            if len(self.cache) >= 4096:
                self.cache.clear()
            self.cache[(method, path)] = (found[0], dict(found[1]))
        return found

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str], list[str]]:
        segments = path.strip("/").split("/")
        allowed: list[str] = []
        if len(segments) >= 2:
            for route in self.exact.get((len(segments), segments[0], segments[1]), ()):
                params: dict[str, str] = {}
                names = iter(route.names)
                for literal, seg in zip(route.literals, segments, strict=True):
                    if literal is None:
                        if not seg:
                            break
                        params[next(names)] = seg
                    elif literal != seg:
                        break
                else:
                    if route.method == method:
                        return route, params, allowed
                    allowed.append(route.method)
        for route in self.other:
            m = route.regex.match(path)
            if m is not None:
                if route.method == method:
                    return route, m.groupdict(), allowed
                allowed.append(route.method)
        return None, {}, allowed


class Emulator:
    """One offline Replicate API.

    :param state: a path for a SQLite file (kept across restarts), a :class:`~.state.State`, or
        None (memory).
    :param models: extra models (Predictors, typed functions or ``(ref, function)`` pairs).
    :param entry_points: also load the models of installed plugins.
    :param rate_limits: False (off), True (the API's limits) or a ``RateLimits``.
    :param faults: fault rules (see :class:`~.faults.Faults`).
    :param webhook_secret: the ``whsec_`` signing secret (default: made once, kept in state).
    :param speed: predictors' :func:`~.predictors.sleep` is divided by it (10: ten times faster).
    :param start_delay: seconds a prediction stays ``starting`` before it runs: one number
        for every model, or a mapping of model refs (``"owner/name"``) to seconds.
    :param tokens: when given, the only bearer tokens accepted; by default any non-empty one.
    :param min_cancel_after: the least ``Cancel-After`` accepted (the API's 5 s).
    :param workers: predictions run at once; more wait in a queue, ``starting``.
    """

    def __init__(
        self,
        *,
        state: State | str | Any = None,
        models: Iterable[Any] = (),
        entry_points: bool = True,
        rate_limits: Any = False,
        faults: Any = None,
        webhook_secret: str | None = None,
        speed: float = 1.0,
        start_delay: float | Mapping[str, float] = 0.0,
        tokens: Iterable[str] | None = None,
        min_cancel_after: float = 5.0,
        workers: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.speed = speed
        self.start_delay = start_delay
        self.min_cancel_after = min_cancel_after
        self.tokens = frozenset(tokens) if tokens is not None else None
        #: Tracebacks of handler bugs answered with a 500, oldest first.
        self.errors: list[str] = []
        self.state: State = state if isinstance(state, State) else open_state(state)
        self.registry = Registry.default(extra=models, entry_points=entry_points)
        self.blobs = Blobs(self.state, clock=clock)
        self.catalog = Catalog(self.state, self.registry, clock=clock)
        self.webhooks = Webhooks(webhook_secret, self.state, clock=clock)
        self.faults = Faults.from_option(faults)
        self.ratelimit = RateLimiter.from_option(rate_limits)
        self.runner = Runner(self, workers=workers)
        self._table = _Table(ROUTERS)
        #: Authorization headers already accepted.
        self._accepted: set[str] = set()
        self._closed = False
        self._close_lock = threading.Lock()

    def start_delay_for(self, ref: str) -> float:
        """How long a prediction of model ``ref`` stays ``starting``."""
        delay = self.start_delay
        if isinstance(delay, Mapping):
            return float(delay.get(ref, 0.0))
        return float(delay)

    # -- time ------------------------------------------------------------------------------

    def now_iso(self, seconds: float | None = None) -> str:
        """RFC 3339 in UTC with microseconds and ``Z``, as the API writes times."""
        when = self.clock() if seconds is None else seconds
        return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- requests --------------------------------------------------------------------------

    def handle(self, req: EmuRequest) -> EmuResponse:
        """Answer one request; never raises."""
        try:
            return self._handle(req)
        except HTTPError as exc:
            return exc.response()
        except Exception:
            return self._bug(req)

    def _bug(self, req: EmuRequest) -> EmuResponse:
        text = traceback.format_exc()
        self.errors.append(text)
        log.error("emulator error answering %s %s:\n%s", req.method, req.path, text)
        last = text.strip().splitlines()[-1]
        return problem(500, f"The emulator failed to answer {req.method} {req.path}: {last}")

    def _handle(self, req: EmuRequest) -> EmuResponse:
        route, params, allowed = self._table.match(req.method, req.path)
        v1 = req.path.startswith("/v1/")
        key = route.key if route is not None else f"{req.method} {req.path}"
        if v1 and self.ratelimit.limits is not None:
            limited = self.ratelimit.check(req, route is not None and route.create)
            if limited is not None:
                return limited
        faults = self.faults
        if faults.active:
            early = faults.before(req, key)
            if early is not None:
                return early
        if v1 and (route is None or route.auth):
            denied = self._authenticate(req)
            if denied is not None:
                return denied
        if route is None:
            if allowed:
                methods = ", ".join(sorted(set(allowed)))
                resp = problem(
                    405, f"Method {req.method} not allowed", headers=[("Allow", methods)]
                )
            else:
                resp = problem(404, "Not found.")
        else:
            try:
                result = route.handler(self, req, **params)
            except HTTPError as exc:
                resp = exc.response()
            except Exception:
                resp = self._bug(req)
            else:
                resp = result if isinstance(result, EmuResponse) else json_response(200, result)
        if faults.active:
            resp = faults.after(req, key, resp)
        return resp

    def _authenticate(self, req: EmuRequest) -> EmuResponse | None:
        header = req.headers.get("authorization")
        if header in self._accepted:  # a client sends the same header on every request
            return None
        if not header:
            return problem(401, _NO_TOKEN, title="Unauthenticated")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "token") or not token:
            return problem(401, _NO_TOKEN, title="Unauthenticated")
        if (self.tokens is not None and token not in self.tokens) or any(
            c.isspace() for c in token
        ):
            return problem(401, _BAD_TOKEN, title="Unauthenticated")
        if len(self._accepted) < 1024:
            self._accepted.add(header)
        return None

    # -- assertions ------------------------------------------------------------------------

    def predictions(self, ref: str | None = None) -> list[dict[str, Any]]:
        """Every prediction's document, oldest first (those of model ``ref`` only, if given)."""
        docs = self.state.list("prediction")[::-1]
        return [d for d in docs if ref is None or d.get("model") == ref]

    def trainings(self) -> list[dict[str, Any]]:
        return self.state.list("training")[::-1]

    def inputs(self, ref: str | None = None) -> list[dict[str, Any]]:
        """The inputs predictions were created with, oldest first."""
        return [d["input"] for d in self.predictions(ref)]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no prediction or training is queued or running."""
        return self.runner.wait_idle(timeout)

    # -- life ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the workers and the webhook sender, then close the state (idempotent)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self.runner.close()
        self.webhooks.close()
        self.state.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Emulator models={len(self.registry)}>"
