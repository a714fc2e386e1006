"""Sending one logical request: per-attempt preparation, auth, retries and redirects.

``send_flow`` is sans-I/O: it yields actions (``_drivers``) and receives their results, so the
same code serves every transport, sync or async. An auth provider's ``refresh``, and an
``auth_headers`` written with ``async def``, are steps of the flow: yielded as
:class:`~replicate._drivers.Call` actions for the driver to make (and an async driver to
await). A plain ``auth_headers`` (decided once, in :class:`Sender`) is called inline: it runs
on every attempt, and a Call there costs each request a measurable share of the SDK's own time.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from time import perf_counter
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ._auth import AuthScope, origin_of
from ._decode import status_error
from ._drivers import Call, CloseResponse, Flow, Interrupted, NextChunk, Send, Sleep
from ._http import MAX_ERROR_BODY
from ._redact import redact_url
from .exceptions import APIConnectionError, APIError, BodyNotReplayableError, PluginError

if TYPE_CHECKING:
    from ._auth import AuthProvider
    from ._config import ClientConfig
    from ._deadline import Deadline
    from ._events import Event
    from ._http import Request, Response, Timeout
    from ._retry import RetryPolicy

log = logging.getLogger("replicate")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Redirects one request follows; one more raises APIError ("too many redirects"), so a
#: redirect loop ends after ``MAX_REDIRECTS + 1`` requests.
MAX_REDIRECTS = 10
#: Extra read time granted past a sync-mode request's wait window before giving up on it. A
#: call's deadline still cuts it: under ``run(timeout=)`` the create's read ends by the deadline
#: plus ``_deadline.DEADLINE_GRACE`` (``Deadline.graced``).
SYNC_MODE_GRACE = 10.0


def _event(kind: str, **fields: Any) -> Event:
    """An observer event (one of ``Event``'s kinds). ``_events`` loads only for clients with
    observers: the others never build one."""
    from ._events import Event

    return Event(kind, **fields)


class Sender:
    """What every request of a client needs, resolved once when the client is built.

    Shared (read-only) by a client and its ``with_options`` copies, and by every thread.
    """

    __slots__ = (
        "auth",
        "auth_headers",
        "auth_inline",
        "auth_scope",
        "client_id",
        "config",
        "observers",
        "preparers",
        "refresh",
        "retry_policy",
    )

    def __init__(
        self,
        *,
        config: ClientConfig,
        auth: AuthProvider,
        retry_policy: RetryPolicy,
        preparers: tuple[Callable[..., Any], ...] = (),
        observers: tuple[Callable[..., Any], ...] = (),
        client_id: str | None = None,
    ) -> None:
        self.config = config
        #: What every event's ``client`` says (the core's ``client_id``).
        self.client_id = client_id
        self.auth = auth
        #: The provider's two methods, looked up once (``refresh`` is optional: None without).
        self.auth_headers: Callable[..., Any] = auth.auth_headers
        self.refresh: Callable[..., Any] | None = getattr(auth, "refresh", None)
        #: Whether ``auth_headers`` is a plain function, which ``send_flow`` calls itself; one
        #: written with ``async def`` is yielded to the driver as a Call.
        self.auth_inline = not inspect.iscoroutinefunction(self.auth_headers)
        self.auth_scope = AuthScope(config.base_url, config.auth_hosts)
        self.retry_policy = retry_policy
        self.preparers = preparers
        self.observers = observers

    def observe(self, event: Event) -> None:
        event.client = self.client_id
        for observer in self.observers:
            try:
                observer(event=event)
            except Exception:
                log.exception("replicate: an observer plugin raised on %r; ignored", event)

    def body_ended(self, response: Response, complete: bool, error: BaseException | None) -> None:
        """A streamed body ended (``Response._on_end``): the ``response_end`` event."""
        self.observe(
            _event(
                "response_end",
                request=response.request,
                response=response,
                error=error,
                attempt=response.retries_taken,
                data="complete" if complete else "error" if error is not None else "closed",
                duration=response._elapsed,
            )
        )


def send_flow(
    sender: Sender,
    request: Request,
    *,
    timeout: Timeout,
    max_retries: int,
    stream: bool = False,
    raise_for_status: bool = True,
    shield: bool = False,
    deadline: Deadline | None = None,
) -> Flow[Response]:
    """Send ``request`` until it succeeds, fails for good, or runs out of retries.

    With a ``deadline`` (a run's ``timeout=``), each attempt's timeouts are cut to the time
    left (``deadline.clip``) and a retry whose wait would reach past the deadline is not made:
    the error is raised at once.

    With ``shield=True`` each attempt is a shielded Send: if the caller is interrupted while it
    is in flight, the flow returns the driver's :class:`~replicate._drivers.Interrupted` at
    once (no retry, no redirect), so the caller can see what the server answered.

    Every resend (a retry, a redirect that keeps the body, a 401 that the auth provider's
    ``refresh`` answered with True) first puts the body back at its start (``_Replay``), then
    runs the preparers and ``auth_headers``, which thus see the whole body on every attempt; a
    file body is rewound once more just before it is sent, in case they read it. A body that
    can be read only once (a one-shot iterator, a file that cannot seek) is never resent: a
    retry is not made (the attempt's own error is raised, and the skipped retry logged), and a
    redirect or a refresh raises :class:`~replicate.BodyNotReplayableError`.

    Returns the final Response (2xx, or any status when ``raise_for_status`` is False), its
    ``retries_taken`` set to the number of retries made before it; raises the typed status
    error (whose response carries the same count) or the transport's APIConnectionError
    otherwise.
    """
    prefer = request.headers.get("prefer")
    if prefer:
        timeout = _effective_timeout(prefer, timeout)
    observe = sender.observe if sender.observers else None
    debug = log.isEnabledFor(logging.DEBUG)
    replay = _NO_BODY if request.content is None else _Replay(request.content)
    attempt = 0
    redirects = 0
    allow_auth = True
    refreshed = False
    # Why the coming attempt is a resend, None for the first: the previous attempt (``prepared``)
    # and its response name it in a BodyNotReplayableError.
    resend: str | None = None
    prepared = request
    last: Response | None = None
    while True:
        if resend is not None:
            replay.rewind(prepared, resend, last)
        # The hooks get a copy to change; without hooks nothing changes the request, and the
        # credentials go on a copy of their own (below).
        prepared = request.copy() if sender.preparers else request
        if sender.preparers:
            for prepare in sender.preparers:
                prepare(request=prepared, config=sender.config)
            if prepared.headers.get("authorization") != request.headers.get("authorization"):
                raise _prepared_authorization(sender, prepared)
            if replay.file is not None:  # a prepare hook may have read it: auth sees its start
                replay.file.seek(replay.start)
        # Credentials go on a copy that only the transport sees: the request attached to
        # responses, errors and observer events never carries the token.
        wire = prepared
        if (
            allow_auth
            and "authorization" not in prepared.headers
            and sender.auth_scope.allows(prepared.url)
        ):
            if sender.auth_inline:
                wire = prepared._with_headers(sender.auth_headers(prepared))
            else:
                wire = prepared._with_headers((yield Call(sender.auth_headers, (prepared,), _AUTH)))
        if replay.file is not None:  # a hook may have read the file: send it from its start
            replay.file.seek(replay.start)
        if debug:
            log.debug("%s %s (attempt %d)", prepared.method, redact_url(prepared.url), attempt + 1)
        if observe is not None:
            observe(_event("request", request=prepared, attempt=attempt))
            sent = perf_counter()
        try:
            response: Response = yield Send(
                wire, timeout if deadline is None else deadline.clip(timeout), stream, shield
            )
        except APIConnectionError as exc:
            exc.request = prepared
            if observe is not None:
                observe(
                    _event(
                        "error",
                        request=prepared,
                        error=exc,
                        attempt=attempt,
                        duration=perf_counter() - sent,
                    )
                )
            delay = _retry_delay(sender, replay, attempt, max_retries, prepared, error=exc)
            if delay is None or _past(deadline, delay):
                raise
            yield from _retry_sleep(sender, observe, prepared, None, exc, attempt, delay)
            attempt += 1
            resend, last = f"was retried after {type(exc).__name__}", None
            continue
        if shield and isinstance(response, Interrupted):
            return response
        response.request = prepared
        response.retries_taken = attempt  # redirects and 401 refreshes leave ``attempt`` as is
        status = response.status_code
        if debug:
            log.debug("%s %s -> %d", prepared.method, redact_url(prepared.url), status)
        if observe is not None:
            started = response._started
            duration: float | None
            if started is not None:  # a streamed body, still to be read: its end is an event
                response._on_end = sender.body_ended
                duration = perf_counter() - started
            else:
                duration = response._elapsed
            observe(
                _event(
                    "response",
                    request=prepared,
                    response=response,
                    attempt=attempt,
                    duration=duration,
                )
            )
        if status < 300:
            return response

        if status in REDIRECT_STATUSES and "location" in response.headers:
            if stream:
                yield CloseResponse(response)
            redirects += 1
            if redirects > MAX_REDIRECTS:
                raise APIError(f"too many redirects (more than {MAX_REDIRECTS})", prepared)
            request, allow_auth = _redirect(request, response, allow_auth)
            resend, last = f"was redirected ({status})", response
            if request.content is None:  # a 303 (or a POST's 301/302) drops the body
                replay = _NO_BODY
            elif replay.problem is not None:
                raise replay.error(prepared, resend, response)
            if observe is not None:
                observe(_event("redirect", request=prepared, response=response, data=request.url))
            continue

        if status == 401 and not refreshed and allow_auth:
            refresh = sender.refresh
            if refresh is not None and (yield Call(refresh, (wire, response), _AUTH)):
                refreshed = True
                if stream:
                    yield CloseResponse(response)
                resend, last = "was refused (401), its credentials refreshed", response
                if replay.problem is not None:
                    raise replay.error(prepared, resend, response)
                continue

        delay = _retry_delay(sender, replay, attempt, max_retries, prepared, response=response)
        if delay is not None and not _past(deadline, delay):
            if stream:
                yield CloseResponse(response)
            yield from _retry_sleep(sender, observe, prepared, response, None, attempt, delay)
            attempt += 1
            resend, last = f"was retried after status {status}", response
            continue
        if not raise_for_status:
            return response
        if stream:
            yield from read_error_body(response)
        raise status_error(response)


def read_error_body(response: Response) -> Flow[bytes]:
    """Read the streamed body of an error response, at most ``MAX_ERROR_BODY`` bytes of it (the
    rest is left unread and its connection closed), into ``response.content``: an error message
    needs no more, and a server sending gigabytes must not fill the memory."""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_ERROR_BODY:
        chunk: bytes = yield NextChunk(response)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    yield CloseResponse(response)
    body = b"".join(parts)
    if size > MAX_ERROR_BODY:
        body = body[:MAX_ERROR_BODY]
    response._content = body
    return body


#: What the auth provider's Calls name, in the sync driver's error for an async provider.
_AUTH = "the auth provider"


def _prepared_authorization(sender: Sender, request: Request) -> PluginError:
    """The error for a ``replicate_prepare_request`` hook that set (or removed) Authorization."""
    hooks = ", ".join(_describe_hook(prepare) for prepare in sender.preparers)
    return PluginError(
        f"a replicate_prepare_request hook changed the Authorization header of {request.method} "
        f"{redact_url(request.url)}: credentials come from the auth provider (auth=, or a "
        "plugin's replicate_auth_provider), which the client sends only to the API's origin and "
        f"its auth allowlist, never from a prepare hook (the hooks: {hooks})"
    )


def _describe_hook(fn: Callable[..., Any]) -> str:
    fn = getattr(fn, "__wrapped__", fn)
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        return f"{type(owner).__name__}.{getattr(fn, '__name__', '?')}"
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__name__', '?')}"


def _retry_delay(
    sender: Sender,
    replay: _Replay,
    attempt: int,
    max_retries: int,
    request: Request,
    *,
    response: Response | None = None,
    error: BaseException | None = None,
) -> float | None:
    """The policy's answer while retries are left and the body can be sent again; else None.

    A body that can be read only once turns a retry the policy wanted into None, logged.
    """
    if attempt >= max_retries:
        return None
    delay = sender.retry_policy.retry_delay(
        attempt=attempt, max_retries=max_retries, request=request, response=response, error=error
    )
    if delay is not None and replay.problem is not None:
        log.info(
            "Not retrying %s %s (%s): its body cannot be sent again: %s",
            request.method,
            redact_url(request.url),
            f"status {response.status_code}" if response is not None else type(error).__name__,
            replay.problem,
        )
        return None
    return delay


def _past(deadline: Deadline | None, delay: float) -> bool:
    """Whether a retry after ``delay`` seconds would start at or past the deadline."""
    left = None if deadline is None else deadline.remaining()
    return left is not None and delay >= left


def _retry_sleep(
    sender: Sender,
    observe: Callable[[Event], None] | None,
    request: Request,
    response: Response | None,
    error: BaseException | None,
    attempt: int,
    delay: float,
) -> Iterator[Sleep]:
    why = f"status {response.status_code}" if response is not None else type(error).__name__
    log.info(
        "Retrying %s %s in %.2f s (%s, retry %d)",
        request.method,
        redact_url(request.url),
        delay,
        why,
        attempt + 1,
    )
    if observe is not None:
        observe(
            _event(
                "retry",
                request=request,
                response=response,
                error=error,
                attempt=attempt,
                delay=delay,
            )
        )
    yield Sleep(delay)


def _redirect(request: Request, response: Response, allow_auth: bool) -> tuple[Request, bool]:
    """The request to send next, and whether it may still carry credentials."""
    location = urljoin(request.url, response.headers["location"])
    method = request.method
    content = request.content
    headers = request.headers.copy()
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
        content = None
        for name in ("content-type", "content-length", "transfer-encoding"):
            headers.pop(name, None)
    try:
        same_origin = origin_of(location) == origin_of(request.url)
    except ValueError:
        raise APIError(
            f"refusing to follow a redirect to {redact_url(location)!r}", request
        ) from None
    if not same_origin:
        # Credentials never follow a change of scheme, host or port, whoever set them.
        for name in ("authorization", "proxy-authorization", "cookie"):
            headers.pop(name, None)
        allow_auth = False
    new = request.copy(method=method, url=location, headers=headers, content=content)
    if method == "GET":
        new.idempotent = True
    return new, allow_auth


def _effective_timeout(prefer: str, timeout: Timeout) -> Timeout:
    """Let a sync-mode request (``Prefer: wait[=N]``) outlast the server's wait window."""
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "wait":
            try:
                window = float(value) if value else 60.0
            except ValueError:
                window = 60.0
            return timeout.with_read_at_least(window + SYNC_MODE_GRACE)
    return timeout


class _Replay:
    """Whether a request's body can be sent again, and how to put it back at its start.

    None and bytes need nothing; an iterable that is not its own iterator (a list, the
    multipart body of ``files.create``) starts over each time it is iterated; a seekable file
    is sought back to the position it had when the flow began. A one-shot iterator or a file
    that cannot seek can be read only once: ``problem`` says so, and such a body is never resent.
    """

    __slots__ = ("file", "problem", "start")

    def __init__(self, content: Any) -> None:
        #: The seekable file to rewind before each attempt, or None; ``start`` is its position.
        self.file: Any = None
        self.start = 0
        #: Why the body cannot be sent again, or None when it can.
        self.problem: str | None = None
        if content is None or isinstance(content, bytes):
            return
        if hasattr(content, "read"):
            try:
                position = content.tell() if content.seekable() else None
            except (AttributeError, OSError, ValueError):
                position = None
            if position is None:
                self.problem = "it is a file that cannot seek (a pipe or a socket), read only once"
            else:
                self.file, self.start = content, position
        elif iter(content) is content:
            self.problem = "it is a one-shot iterator, read only once"

    def rewind(self, request: Request, why: str, response: Response | None) -> None:
        """Put a file body back at its start; raise BodyNotReplayableError if that fails."""
        if self.problem is not None:
            raise self.error(request, why, response)
        if self.file is not None:
            try:
                self.file.seek(self.start)
            except (OSError, ValueError) as exc:  # closed meanwhile, or seekable no more
                raise self.error(
                    request, why, response, f"rewinding it failed ({type(exc).__name__}: {exc})"
                ) from exc

    def error(
        self, request: Request, why: str, response: Response | None, problem: str | None = None
    ) -> BodyNotReplayableError:
        return BodyNotReplayableError(
            f"{request.method} {redact_url(request.url)} {why}, but its body cannot be sent "
            f"again: {problem or self.problem}. Bytes, a seekable file or a re-iterable body "
            "can be resent",
            request,
            response=response,
        )


#: The replay of every request without a body: nothing to rewind, always resendable.
_NO_BODY = _Replay(None)
