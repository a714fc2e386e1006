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

1. an explicit constructor argument (``auth=``, ``retry_policy=``; for auth, after ``auth=``:
   an ``Authorization`` in ``default_headers``, then ``bearer_token=``, as in v2).
   ``auth="<entry-point name>"`` asks that installed plugin alone (it must answer);
2. the client's own ``plugins=``, earliest in the list first;
3. installed plugins: if two answer, that is a :class:`~replicate.PluginError` naming both,
   unless ``REPLICATE_AUTH=<entry-point name>`` / ``REPLICATE_RETRY_POLICY=<name>`` picks one
   (then that plugin alone is asked, and it must answer);
4. the built-ins (token auth, the default retry policy).

A plugin named (by ``auth=`` or the variable) that passes, or does not implement the hook, is a
:class:`~replicate.PluginError` saying which; a name that is no loaded plugin is a PluginError
that is also a ValueError (as an unknown transport name is), listing the installed plugins that
implement the hook and saying so when the name is installed but not allowed by
``REPLICATE_PLUGINS`` or failed to load. What answers is checked as the constructor argument
is: an auth provider without ``auth_headers``, or a retry policy without ``retry_delay``, is a
TypeError naming the plugin.

The credentials of a request come from that one auth provider and nowhere else. An
``Authorization`` in ``default_headers`` is such a provider, ranked with the constructor
arguments (1.): no auth plugin is asked then, by design (it is sent, like the token, only to the
API's origin and its allowlist). What is refused instead: ``auth=`` together with
``bearer_token=`` or an ``Authorization`` default header is a ValueError (one of them would be
ignored); and a ``replicate_prepare_request`` hook that sets, changes or removes
``Authorization`` is a :class:`~replicate.PluginError` at that request, unsent, since its header
would go to every host while the provider's go only to the API's origin and its allowlist.
An ``Authorization`` passed to one call (``client.get(url, headers={"Authorization": ...})``)
is the caller's own choice: it is sent as given and the provider is not asked for that request.

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

**The command line's hooks** (``replicate_cli_commands``, ``replicate_cli_auth``) are asked by
the ``replicate`` command alone, never by a client, and only of installed plugins.
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
    (``async_=True``). When a library offers both, one name can carry both colours: register
    it twice, a sync factory (``sync=True``) and an async one (``sync=False, async_=True``), and
    each client makes the one of its colour (``"httpx"`` does). The return value is ignored.
    ``Replicate`` uses sync transports only (an async-only name is a ValueError);
    ``AsyncReplicate`` awaits an async one, and drives a sync one from worker threads. A factory
    is called when a client choosing its name is built, and what it returns is checked then, as
    a ``transport=`` object is: anything but a transport of the colour registered (None, say) is
    a :class:`~replicate.PluginError` naming the transport and the plugin.

    What a transport must do (errors and ``request_sent``, short and streamed bodies, stale
    keep-alive connections, ``close``, repeated headers, Content-Encoding, pickling) is written
    in :class:`replicate.SyncTransport` and :class:`replicate.AsyncTransport`, and checked by the
    suites in :mod:`replicate.testing.contract`; :class:`replicate.testing.MockTransport` stands
    in for one in tests.

    The factory of the name ``"httpx"`` is also called as ``factory(config, http_client=...)``
    when a client is built with v2's ``http_client=`` keyword (an ``httpx.Client``, or an
    ``httpx.AsyncClient`` for ``AsyncReplicate``): it returns a transport sending through that
    client, which stays the caller's to close.

    The transport a client uses is chosen deliberately, never by load order: an explicit
    ``transport=`` (a registered name or a transport object) wins, then the ``REPLICATE_TRANSPORT``
    environment variable, then the built-in ``"urllib3"``. An unknown name is a ValueError that
    lists the registered ones. Two plugins registering the same name (or one plugin the same
    name twice for one colour) is a PluginError.

    If it raises, the plugin is treated as broken: skipped with a warning (an error under
    ``REPLICATE_STRICT_PLUGINS=1``).
    """


@hookspec(firstresult=True)
def replicate_auth_provider(config: ClientConfig, chosen: bool) -> AuthProvider | None:
    """Supply the object that authenticates requests, or None to pass.

    Fires once per client, while it is built (a one-answer hook; see the precedence above).
    ``chosen`` is True when the user named this plugin (``Replicate(auth="<entry-point name>")``
    or ``REPLICATE_AUTH=<name>``): a plugin that passes when it is not set up should then answer
    anyway, or raise an error saying what is missing (passing is an error then).
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

    What ``auth_headers(request)`` receives: the request of this attempt as it will be sent,
    less the headers the provider returns. ``request.method`` and ``request.url`` (query
    included, as sent) are final; ``request.headers`` hold the core's and the prepare hooks'
    (the transport may add ``Host``, ``Content-Length``, ``Accept-Encoding`` and the like:
    sign only headers you set or the core documents). ``request.content`` is the body, one of:
    None; ``bytes`` (a ``json=`` body is its encoded bytes); a binary file; an iterable of
    ``bytes`` chunks (a list, a generator, or the multipart body that ``files.create`` and
    file inputs upload, which re-reads its file each time it is iterated).

    To sign the body, read it with :func:`replicate.auth.body_bytes` or
    :func:`~replicate.auth.body_digest` (``async def auth_headers``:
    :func:`~replicate.auth.abody_bytes`, :func:`~replicate.auth.abody_digest`, which read files
    in a worker thread): whatever the body is, they return exactly the bytes the transport will
    send, read without consuming them, on every attempt, the first and each resend (a retry, a
    redirect, a refresh), since the core puts the body back at its start before each
    (``auth_headers`` sees a file at its start; a file is sought back once more after
    ``auth_headers`` returns, before it is sent). A one-shot body, an iterator
    (``iter(body) is body``) or a file whose ``seekable()`` is False, would be consumed by
    reading it: those functions raise :class:`~replicate.BodyNotReplayableError` for it (the
    request unsent), and a provider reading ``request.content`` itself must leave it unread.
    Such a body is sent once and never again: after a 401, ``refresh`` is still called (so
    later requests get the fresh credentials), but if it returns True the request is not resent
    and the caller gets :class:`~replicate.BodyNotReplayableError` (with the 401 as
    ``response``).

    What the hook returns is checked as ``auth=`` is: without a callable ``auth_headers`` (or
    with a ``refresh`` that is not callable) it is a TypeError naming the plugin.

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
    It may not set, change or remove ``Authorization``: credentials are the auth provider's (see
    the precedence above), and such a request is not sent but refused with a
    :class:`~replicate.PluginError` naming the prepare hooks.

    If it raises, the request is not sent and the exception propagates to the caller.
    """


@hookspec
def replicate_observe(event: Event) -> None:
    """Watch what the client does: for logging, metrics, tracing and progress display.

    Fires for each :class:`replicate.Event`, whose ``kind`` is one of:

    - ``request``: an attempt is about to be sent (``request``, ``attempt``: 0 for the first,
      1 for the first retry...). The request never carries the credentials;
    - ``response``: a response arrived (``response``; ``duration``: seconds from sending to the
      whole response, or to its headers when the body is streamed);
    - ``response_end``: the body of a streamed response (one whose ``response`` event saw
      ``response.is_stream_consumed`` False: ``stream=True`` requests, downloads, SSE streams)
      has ended, once, however it ended: ``data`` is ``"complete"`` (read to its end),
      ``"error"`` (reading it failed: ``error`` holds the exception) or ``"closed"`` (closed, or
      abandoned, before its end, including by the core before a retry or a redirect);
      ``duration`` is the seconds from sending to that end (``response.elapsed``). It fires
      where the body ends: in the thread, or the task, reading it. A body the caller never reads
      nor closes never ends;
    - ``error``: an attempt failed at the network level (``error``, an
      :class:`~replicate.APIConnectionError`; ``duration``: seconds until it failed);
    - ``retry``: the core will sleep ``delay`` seconds and try again (``response`` or
      ``error``: why);
    - ``redirect``: a redirect is followed (``data``: the new URL);
    - ``prediction``: a new state of a prediction that ``run``/``use``/``stream`` waits on
      (``data``, a :class:`~replicate.types.Prediction`);
    - ``run``: a ``run()``, ``use()`` function call or ``stream()`` ended, however it ended
      (success, a model error, a timeout, an interrupt, the consumer of a stream stopping):
      ``data`` is a ``replicate._events.RunInfo`` (``model``, ``version``, ``deployment``,
      ``id``, ``status``: the last known, ``prediction``: the last state seen), ``error`` the
      exception it raised (None for a stream whose consumer stopped), ``duration`` the seconds
      from the create to the end. The input is never part of it.

    An attempt therefore ends with ``error``, or with ``response`` (a body read already), or
    with ``response_end`` (a streamed body); request, response and error events of one attempt
    share the same ``request`` object, which ``response.request`` is too.

    ``event.client`` names the client an event came from: its ``client_id`` (``"client-1"``...,
    numbered as clients are built in the process; a ``with_options`` copy keeps the id of the
    client it was made from). It is an opaque string, never derived from the token.

    Read-only: the return value is ignored, and an exception in an observer is logged on the
    ``replicate`` logger and otherwise ignored. The response of a streamed request
    (``stream=True``) arrives with its body unread, for the caller to read: its ``content``
    raises :class:`~replicate.ResponseNotRead`. With no observer registered none of this costs
    anything: no event is built.
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


# --- the replicate command --------------------------------------------------------------------


@hookspec
def replicate_cli_commands(register: Callable[..., None]) -> None:
    """Add commands to the ``replicate`` command line.

    Fires once per run of the ``replicate`` command, while it builds its argument parser (never
    for a client; installed plugins only, as ``REPLICATE_PLUGINS`` allows). Call
    ``register(name, run, *, help="", configure=None)`` for each command: ``configure(parser)``
    adds the command's arguments to its ``argparse.ArgumentParser``; ``run(context)`` does the
    work when the command is chosen, given a :class:`replicate.cli.Context` (``args``: the
    parsed arguments; ``client()``: a ``Replicate`` client built from the global options
    ``--base-url``, ``--transport`` and ``--token-stdin``; ``stdout``, ``stderr``), and returns
    the exit status (None means 0). The return value of the hook is ignored.

    ``run`` fails with a one-line message by raising :class:`replicate.cli.CommandError`
    (``CommandError("message", exit_code=1)``); the SDK's own errors are reported as the
    built-in commands report them (API errors with their status and detail, exit 1), and any
    other exception as one line naming the plugin (exit 1), never a traceback. Ctrl-C exits 130.

    A name that a built-in command or another plugin already has, or a ``register`` call with
    a bad argument, skips that command with a warning naming the plugin; a hook that raises
    skips all of that plugin's commands, with a warning. Under ``REPLICATE_STRICT_PLUGINS=1``
    both are errors (the command exits 1 before running anything).
    """


@hookspec(firstresult=True)
def replicate_cli_auth(action: str, read_token: Callable[[], str]) -> str | None:
    """Carry out ``replicate auth login`` or ``replicate auth logout``: store or remove the
    credentials that the plugin's own :func:`replicate_auth_provider` reads.

    Fires once per ``replicate auth ...`` run, on one installed plugin: the one named by
    ``--plugin NAME`` or ``REPLICATE_AUTH=NAME``, else the only installed plugin implementing
    the hook (when two do and none is named, the command fails before calling either; when
    none does, it fails saying which plugins can, such as ``replicate-keyring``). ``action``
    is ``"login"`` or ``"logout"``. For ``login``, call ``read_token()`` for the token: it
    prompts with the input hidden when stdin is a terminal, else reads one line from stdin,
    and returns it stripped (an empty one is a one-line error, exit 2, raised from it).

    Return a one-line message saying what was done (printed on stdout, exit 0), never the
    token; or None when the plugin does not support ``action`` (the command then fails saying
    so, exit 1). If it raises, the command fails with the exception's message on one line,
    naming the plugin (exit 1; a ValueError, such as a malformed token, exits 2).
    """
