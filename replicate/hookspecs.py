"""The hooks a plugin can implement: the plugin author's reference.

A plugin is any object or module with functions decorated by :data:`replicate.hookimpl` whose
names are the hooks below. It reaches a client in one of two ways:

- installed: a distribution declares it under the ``replicate`` entry-point group, e.g. in
  ``pyproject.toml``::

      [project.entry-points.replicate]
      keyring = "replicate_keyring"

  Installed plugins load lazily, when the first client is built (never at ``import replicate``),
  one at a time. One that fails to import or register is skipped with a warning naming it;
  ``REPLICATE_STRICT_PLUGINS=1`` makes that an error. ``REPLICATE_PLUGINS=a,b`` is an allowlist of
  entry-point names to load (set but empty: load none).
- per client: ``replicate.Replicate(plugins=[obj])`` registers ``obj`` on that client only.

An implementation may accept any subset of a hook's arguments, by name; new arguments can be
added to a hook later without breaking it.

**One-answer hooks** (auth, retry policy) are not decided by pluggy's load order. The core asks,
in this order, and the first to answer (return something other than None) wins:

1. an explicit constructor argument (``bearer_token=``/``auth=``, ``retry_policy=``);
2. the client's own ``plugins=``, earliest in the list first;
3. installed plugins: if two answer, that is a :class:`~replicate.PluginError` naming both,
   unless ``REPLICATE_AUTH=<entry-point name>`` / ``REPLICATE_RETRY_POLICY=<name>`` picks one;
4. the built-ins (token auth, the default retry policy).

**Collect-all hooks** (prepare, observe, file hosts) call every implementation in this order:
those marked ``tryfirst``, then the rest, then ``trylast``; within each group built-ins first,
then installed plugins (by entry-point name), then the client's own ``plugins=`` in list order,
so a client's own plugin has the last word.

All hooks are synchronous (pluggy cannot await), and so are the objects they hand back, with
two exceptions: a transport's ``send``, which an async driver awaits, and an auth provider's
``auth_headers``/``refresh``, which may be plain or ``async def`` (see
:func:`replicate_auth_provider`). ``auth_headers`` is called on every attempt of every client,
so a provider whose token needs slow work (a vault, a command) does it once and caches the
result.

**One-answer-by-value hooks** (encode input, decode output) stop at the first implementation
that returns something other than None, in pluggy's order: the client's own plugins (last in
the list first), then installed plugins (in reverse entry-point name order), then the
built-in, which always answers. Such an implementation decides for itself whether a value is
its to handle, so two of them rarely compete; when they do, the client's own plugin wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ._auth import AuthProvider
    from ._config import ClientConfig
    from ._events import Event
    from ._http import Request
    from ._retry import RetryPolicy

PROJECT = "replicate"

hookspec = pluggy.HookspecMarker(PROJECT)
#: The marker for hook implementations: ``@replicate.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- building a client ------------------------------------------------------------------------


@hookspec
def replicate_register_transports(register: Callable[..., None]) -> None:
    """Register transports by name.

    Fires once per client, while it is built. Call
    ``register(name, factory, *, sync=True, async_=False)`` for each transport the plugin offers:
    ``factory(config: ClientConfig)`` returns an object implementing
    :class:`replicate.SyncTransport` (``sync=True``) or :class:`replicate.AsyncTransport`
    (``async_=True``; give one name per colour when a library offers both). The return value is
    ignored. ``Replicate`` uses sync transports only (an async-only name is a ValueError);
    ``AsyncReplicate`` awaits an async one, and drives a sync one from worker threads.

    The transport a client uses is chosen deliberately, never by load order: an explicit
    ``transport=`` (a registered name or a transport object) wins, then the ``REPLICATE_TRANSPORT``
    environment variable, then the built-in ``"urllib3"``. An unknown name is a ValueError that
    lists the registered ones. Two plugins registering the same name is a PluginError.

    If it raises, the plugin is treated as broken: skipped with a warning (an error under
    ``REPLICATE_STRICT_PLUGINS=1``).
    """


@hookspec(firstresult=True)
def replicate_auth_provider(config: ClientConfig) -> AuthProvider | None:
    """Supply the object that authenticates requests, or None to pass.

    Fires once per client, while it is built (a one-answer hook; see the precedence above).
    Return an object with ``auth_headers(request) -> Mapping[str, str]`` and, optionally,
    ``refresh(request, response) -> bool`` (called once on a 401 with the request as sent, its
    own headers included: return True to have the request sent again with fresh headers). The
    401's body is unread when the request was streamed (``stream=True``): its ``content`` then
    raises :class:`~replicate.ResponseNotRead`; ``refresh`` leaves it unread.

    Either method may be a plain function or an ``async def`` coroutine function (a token from a
    vault, fetched over an async client). The sync client (``Replicate``) takes plain ones only:
    a request that would call an async one raises a TypeError saying the provider is async, its
    coroutine closed unawaited (an async ``auth_headers``: before anything is sent; an async
    ``refresh``: at the 401, not resent). A plain ``auth_headers`` returns the mapping itself,
    never an awaitable: whether it is async is decided once, when the client is built
    (``inspect.iscoroutinefunction``).

    Whatever the provider returns is only ever added to requests whose URL is on the API's origin
    or the client's auth allowlist; the core enforces that, not the provider. ``auth_headers`` is
    called once per attempt and may raise :class:`~replicate.MissingTokenError` (or any
    exception), which propagates to the caller unchanged, the request unsent; so does an
    exception raised by ``refresh``, the 401 then not resent.

    The body, for a provider that signs it: on every attempt, the first and each resend (a
    retry, a redirect, a refresh), ``auth_headers`` sees ``request.content`` at its start. Bytes
    can be read as they are; a seekable file may be read (the core seeks it back to its start
    after ``auth_headers`` returns, before it is sent); a re-iterable body (a list, the multipart
    body of ``files.create``) starts over each time it is iterated. A one-shot body, an iterator
    (``iter(body) is body``) or a file whose ``seekable()`` is False, is consumed by reading it:
    a provider must leave it unread. Such a body is sent once and never again: after a 401,
    ``refresh`` is still called (so later requests get the fresh credentials), but if it returns
    True the request is not resent and the caller gets :class:`~replicate.BodyNotReplayableError`
    (with the 401 as ``response``).

    If the hook itself raises, building the client fails with that error.
    """


@hookspec(firstresult=True)
def replicate_retry_policy(config: ClientConfig) -> RetryPolicy | None:
    """Supply the retry policy, or None to pass.

    Fires once per client, while it is built (a one-answer hook; see the precedence above). The
    policy is shared by every request of the client (and its ``with_options`` copies), so it may
    hold state such as a token bucket, and must be thread-safe. See :class:`replicate.RetryPolicy`
    for the method it implements. If the hook raises, building the client fails.
    """


# --- every request ----------------------------------------------------------------------------


@hookspec
def replicate_prepare_request(request: Request, config: ClientConfig) -> None:
    """Adjust a request before each attempt is sent (headers for tracing, idempotency keys...).

    Fires for every attempt, retries and redirects included, after the core has set its own
    headers and before auth is added (so a plugin never sees the token). The body is at its start,
    as for ``auth_headers`` (see :func:`replicate_auth_provider`). Modify ``request`` in
    place (``request.headers[...] = ...``, ``request.extensions``); the return value is ignored.

    If it raises, the request is not sent and the exception propagates to the caller.
    """


@hookspec
def replicate_observe(event: Event) -> None:
    """Watch what the client does: for logging, metrics, tracing and progress display.

    Fires for each :class:`replicate.Event`: ``request`` (an attempt is about to be sent),
    ``response`` (a response arrived), ``error`` (an attempt failed at the network level),
    ``retry`` (the core will sleep ``event.delay`` seconds and try again), ``redirect``, and
    ``prediction`` (a new state of a prediction that ``run``/``use``/``stream`` waits on, in
    ``event.data``). Read-only: the return value is ignored, and an
    exception in an observer is logged on the ``replicate`` logger and otherwise ignored. The
    response of a streamed request (``stream=True``) arrives with its body unread, for the
    caller to read: its ``content`` raises :class:`~replicate.ResponseNotRead`.
    """


# --- predictions ------------------------------------------------------------------------------


@hookspec(firstresult=True)
def replicate_encode_input(value: Any, context: Any) -> Any:
    """Turn one input value the JSON encoder doesn't know into something it does.

    Fires for each value in a prediction's input that is not plain JSON (files, paths, bytes,
    arrays...), depth first. Return the replacement (for a file: an URL or a data URL), or None to
    pass to the next plugin; the built-in encoder is consulted last. ``context`` carries the
    client and the upload strategy. If it raises, the create is not sent and the error propagates.

    ``context`` is a ``replicate._inputs.InputContext``: ``client`` (the client's core, a
    ``replicate._core.ClientCore``: its ``config`` and ``base_url``), ``file_encoding_strategy``
    (``"url"`` or ``"base64"``) and ``path``, where the value sits (``"images[0]"``). A hook
    cannot send requests itself: to have content uploaded through the files API, return
    ``replicate._inputs.Upload(content, filename=None, content_type=None)``; the create uploads
    every such file at once and puts each file's URL in its place. A replacement that is not
    plain JSON (a list holding a path, say) is encoded in turn.
    """


@hookspec(firstresult=True)
def replicate_decode_output(value: Any, schema: Any, context: Any) -> Any:
    """Turn a prediction's JSON output into richer objects (files, images, arrays...).

    Fires once per output to be returned: once per finished prediction, and once per item
    for streamed output (``use(ref, streaming=True)``, where ``schema`` is the item schema).
    ``schema`` is the version's output schema when known, else None. Return the decoded
    output, or None to pass; the built-in decoder is consulted last. If it raises, the error
    propagates to the caller. ``context`` is a ``replicate._outputs.OutputContext``: ``client``
    (the ``Replicate`` or ``AsyncReplicate`` the files download through; an async one's
    ``client._file_output`` is ``AsyncFileOutput``), ``core`` and ``use_file_output``. The hook
    is called while no I/O may happen: a decoder that needs the network returns objects that
    download when asked, as ``FileOutput`` does.
    """


@hookspec
def replicate_register_file_hosts(register: Callable[[str], None]) -> None:
    """Name hosts whose URLs in a prediction's output are files.

    Fires once per client, the first time it decodes an output whose schema is unknown. Call
    ``register(pattern)`` for each host: an exact host name (``"files.example.com"``),
    ``"*.example.com"`` for any subdomain (not the domain itself), either optionally with a port
    (``"localhost:8000"``; without one, any port). The return value is ignored.

    Without the version's output schema, the built-in decoder turns a string into a
    :class:`~replicate.FileOutput` only if it is a ``data:`` URL or an http(s) URL on a known file
    host: Replicate's delivery hosts (``replicate.delivery`` and ``*.replicate.delivery``, which
    the built-in plugin registers through this hook), the API's own origin, and the hosts
    registered here. Every other string stays a string. Registering a host does not send it the
    API token: downloads carry the token only to the API origin and its auth allowlist.

    A pattern that is not a host name is a :class:`~replicate.PluginError`. If the hook raises
    anything else, a warning names the plugin and its hosts are ignored (an error under
    ``REPLICATE_STRICT_PLUGINS=1``).
    """
