"""Helpers that many test files share: what the loopback server saw, JSON answers, waiting for
something to happen (instead of sleeping a guessed time), and the constants the tests agree on.

Import them as ``from support import ...`` (the tests folder is on ``sys.path``). Fixtures
live in ``conftest.py``; these are plain functions and values.
"""

from __future__ import annotations

import _thread
import hashlib
import importlib
import json
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import replicate
from replicate import _plugins
from replicate.pagination import SyncPage
from replicate.types import Page

#: The repository's root folder.
ROOT = Path(__file__).resolve().parent.parent

#: A version id of the shape the API uses (64 hex digits).
VERSION_ID = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"

#: How long a wait for something the test has set in motion may take before the test fails: far
#: above what it takes on a loaded 2-core machine, so only a real hang reaches it.
WAIT = 10.0


def last_request(server: HTTPServer) -> Request:
    """The last request the server logged (AssertionError if it saw none)."""
    assert server.log, "the server saw no request"
    return server.log[-1][0]


def raw_uri(request: Request) -> str:
    """The request target as sent (path and query still percent-encoded)."""
    uri = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    assert uri, "the server did not record the raw request target"
    return str(uri)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A werkzeug response carrying ``body`` as JSON."""
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    """Poll ``predicate`` until it holds; AssertionError naming ``what`` after ``timeout``."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"not reached within {timeout} s: {what or predicate}")
        time.sleep(0.005)


def wait_for_log(server: HTTPServer, count: int, timeout: float = WAIT) -> None:
    """Wait until the server has logged ``count`` requests: a handler the client gave up on
    has finished, so its late entry can't land in the next test's log or be miscounted."""
    wait_until(lambda: len(server.log) >= count, timeout, f"{count} requests in the server's log")


# --- API bodies -------------------------------------------------------------------------------


def deployment(name: str = "my-app", **release: Any) -> dict[str, Any]:
    """A deployment ``acme/{name}`` as the API returns it; ``release`` overrides fields of its
    current release."""
    return {
        "owner": "acme",
        "name": name,
        "current_release": {
            "number": 3,
            "model": "stability-ai/sdxl",
            "version": VERSION_ID,
            "created_at": "2024-05-01T12:00:00Z",
            "created_by": {"type": "organization", "username": "acme", "name": "Acme"},
            "configuration": {"hardware": "gpu-t4", "min_instances": 1, "max_instances": 5},
            **release,
        },
    }


def model(name: str, **more: Any) -> dict[str, Any]:
    """A public model ``acme/{name}`` with only the fields a listing needs."""
    return {"owner": "acme", "name": name, "visibility": "public", **more}


TRAINING_ID = "zz4ibbonubfz7carwiefibzgga"


def training(
    training_id: str = TRAINING_ID, status: str = "starting", **more: Any
) -> dict[str, Any]:
    """A training of ``acme/llama`` as the API returns it."""
    return {
        "id": training_id,
        "model": "acme/llama",
        "version": VERSION_ID,
        "input": {"train_data": "https://example.com/data.jsonl"},
        "status": status,
        "source": "api",
        "created_at": "2024-05-01T12:00:00.5Z",
        "urls": {
            "get": f"https://api.replicate.com/v1/trainings/{training_id}",
            "cancel": f"https://api.replicate.com/v1/trainings/{training_id}/cancel",
        },
        **more,
    }


# --- two-page lists ---------------------------------------------------------------------------

#: An opaque cursor with an escape that must survive verbatim.
CURSOR = "cD0yMDI0LTA1LTAxKzEyJTNBMDA%3D"


def serve_two_pages(
    server: HTTPServer,
    path: str,
    first: list[Any],
    second: list[Any],
    *,
    method: str = "GET",
    query_string: str = "",
    cursor: str = CURSOR,
) -> str:
    """Page one at ``path`` (exact query), page two at the absolute ``next`` URL it names."""
    next_url = f"{server.url_for(path)}?cursor={cursor}"
    server.expect_request(path, method=method, query_string=query_string).respond_with_json(
        {"next": next_url, "previous": None, "results": first},
        headers={"ratelimit-remaining": "2999"},
    )
    server.expect_request(path, method=method, query_string=f"cursor={cursor}").respond_with_json(
        {"next": None, "previous": f"{server.url_for(path)}?cursor=back", "results": second}
    )
    return next_url


def check_two_pages(
    server: HTTPServer,
    page: SyncPage[Any],
    key: Callable[[Any], Any],
    expected: list[Any],
    *,
    cursor: str = CURSOR,
) -> None:
    """Navigation on a two-page list: has/get next page, iter_pages, and item iteration."""
    assert isinstance(page, SyncPage)
    assert page.has_next_page()
    assert page.next is not None and page.next.endswith(f"?cursor={cursor}")
    assert [key(x) for x in page.results] == expected[:1]

    second = page.get_next_page()
    assert not second.has_next_page()
    assert [key(x) for x in second.results] == expected[1:]
    with pytest.raises(RuntimeError):
        second.get_next_page()
    follow = last_request(server)
    assert raw_uri(follow).endswith(f"?cursor={cursor}")  # followed verbatim, not re-encoded
    assert follow.headers["Authorization"] == f"Bearer {TOKEN}"

    pages = list(page.iter_pages())
    assert [[key(x) for x in p.results] for p in pages] == [expected[:1], expected[1:]]
    assert [key(x) for x in page] == expected


# --- predictions --------------------------------------------------------------------------------


def prediction(
    server: HTTPServer, pid: str = "p1", status: str = "starting", **fields: Any
) -> dict[str, Any]:
    """A prediction of ``acme/hello`` whose ``urls`` point at ``server``; ``fields`` override."""
    base = {
        "id": pid,
        "model": "acme/hello",
        "version": VERSION_ID,
        "input": {"text": "Alice"},
        "output": None,
        "logs": "",
        "error": None,
        "status": status,
        "data_removed": False,
        "created_at": "2024-04-23T18:55:47.081Z",
        "urls": {
            "get": server.url_for(f"/v1/predictions/{pid}"),
            "cancel": server.url_for(f"/v1/predictions/{pid}/cancel"),
            "web": f"https://replicate.com/p/{pid}",
        },
    }
    base.update(fields)
    return base


def sequence(*bodies: dict[str, Any]) -> Callable[[Request], Response]:
    """A handler answering with each body in turn, then repeating the last."""
    items = list(bodies)

    def handler(request: Request) -> Response:
        body = items.pop(0) if len(items) > 1 else items[0]
        return json_response(body)

    return handler


def requests_to(server: HTTPServer, method: str, path: str) -> list[Request]:
    """The requests the server logged for ``method`` and ``path``, in order."""
    return [r for r, _ in server.log if r.method == method and r.path == path]


# --- interrupts ---------------------------------------------------------------------------------


class InterruptWhen:
    """Ctrl-C for the main thread (``_thread.interrupt_main``) as soon as ``event`` is set: an
    interrupt at a known point of a call (a request the server has received), not after a
    guessed delay. ``then`` runs right after the interrupt (say, to let a held answer go).

    Use as a context manager around the call; leaving it stops the watcher, so no interrupt
    lands after the test."""

    def __init__(self, event: threading.Event, then: Callable[[], None] | None = None) -> None:
        self.event = event
        self.then = then
        self.fired = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self.event.wait(0.01):
                _thread.interrupt_main()
                self.fired.set()
                if self.then is not None:
                    self.then()
                return

    def __enter__(self) -> InterruptWhen:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(WAIT)


# --- loopback servers and handlers --------------------------------------------------------------


def file_url(data: bytes) -> str:
    """The URL the fake files API gives a file: named after its content."""
    return f"https://api.replicate.com/v1/files/{hashlib.sha256(data).hexdigest()[:16]}"


class FilesAPI:
    """A fake ``POST /v1/files`` that parses each multipart upload (with werkzeug) and records
    it, tracking how many were in flight at once; with ``together=N`` each upload waits until N
    are in flight (a barrier), so uploads sent one after another fail instead of passing."""

    def __init__(self, together: int = 0) -> None:
        self.barrier = threading.Barrier(together, timeout=30) if together else None
        self.uploads: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.barrier is not None:
                self.barrier.wait()
            part = request.files["content"]
            data = part.read()
            with self.lock:
                self.uploads.append(
                    {
                        "data": data,
                        "filename": part.filename,
                        "content_type": part.content_type,
                        "form": dict(request.form),
                        "content_length": request.headers.get("Content-Length"),
                    }
                )
            fid = file_url(data).rsplit("/", 1)[1]
            body = {
                "id": fid,
                "name": part.filename,
                "content_type": part.content_type,
                "size": len(data),
                "urls": {"get": file_url(data)},
            }
            return Response(json.dumps(body), status=201, content_type="application/json")
        finally:
            with self.lock:
                self.active -= 1

    def data(self) -> list[bytes]:
        return sorted(u["data"] for u in self.uploads)


class SlowServer:
    """A threaded HTTP/1.1 server that records each request and answers after ``delay`` s."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.requests: list[tuple[str, str, bytes]] = []
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, body))
                if outer.stop.wait(outer.delay):
                    return
                payload = b'{"ok": true}'
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


class ShortServer:
    """A raw socket server that promises more bytes (Content-Length) than it sends."""

    def __init__(self, declared: int, sent: bytes) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.stopped = threading.Event()
        self.port = self.sock.getsockname()[1]
        self.head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {declared}\r\nConnection: close\r\n\r\n"
        ).encode()
        self.sent = sent
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    piece = conn.recv(4096)
                    if not piece:
                        break
                    data += piece
                self.requests.append(data)
                conn.sendall(self.head + self.sent)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()


def listed_prediction(pid: str) -> dict[str, Any]:
    """A finished prediction as a list of predictions shows it."""
    return {"id": pid, "status": "succeeded", "input": {}, "output": pid}


def three_pages(server: HTTPServer) -> None:
    """``GET /v1/predictions``: three pages of three predictions each, linked by ``next``."""

    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor", "0")
        nxt = {"0": "1", "1": "2"}.get(cursor)
        body = {
            "next": server.url_for("/v1/predictions") + f"?cursor={nxt}" if nxt else None,
            "previous": None,
            "results": [listed_prediction(f"{cursor}-{i}") for i in range(3)],
        }
        return Response(
            Page[Any](results=body["results"], next=body["next"]).to_json(),
            content_type="application/json",
        )

    server.expect_request("/v1/predictions").respond_with_handler(handler)


# --- clients ------------------------------------------------------------------------------------


def fast_retry_policy() -> replicate.DefaultRetryPolicy:
    """The default policy with millisecond backoff, so retry tests don't sleep for seconds."""
    return replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005)


def make_client(base_url: str, **kwargs: Any) -> replicate.Replicate:
    """A client with the tests' token on ``base_url``, retrying fast unless told otherwise."""
    kwargs.setdefault("retry_policy", fast_retry_policy())
    return replicate.Replicate(bearer_token=TOKEN, base_url=base_url, **kwargs)


# --- installed plugins --------------------------------------------------------------------------


class Dists:
    """Writes tiny installed distributions declaring ``replicate`` entry points into ``root``
    (a folder on ``sys.path``): ``<module>-<version>.dist-info`` next to each plugin's module.

    With ``monkeypatch``, only the plugins added here load (``REPLICATE_PLUGINS`` names them),
    never those installed in the environment the tests run in."""

    def __init__(
        self,
        root: Path,
        *,
        prefix: str = "rp_",
        version: str = "0.1",
        monkeypatch: pytest.MonkeyPatch | None = None,
    ) -> None:
        self.root = root
        self.prefix = prefix
        self.version = version
        self.monkeypatch = monkeypatch
        self.modules: list[str] = []
        self.names: list[str] = []

    def add(self, name: str, source: str, *, module: str | None = None) -> str:
        """Install plugin ``name`` (entry-point name) whose module holds ``source``; returns
        the module's name."""
        module = module or self.prefix + name.replace("-", "_")
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        self.modules.append(module)
        if self.monkeypatch is not None:
            self.names.append(name)
            self.monkeypatch.setenv("REPLICATE_PLUGINS", ",".join(self.names))
        self.add_entry_point(module, name, module)
        return module

    def add_entry_point(self, dist: str, name: str, value: str) -> None:
        """A distribution with just an entry point (e.g. naming a module that does not exist)."""
        info = self.root / f"{dist}-{self.version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {self.version}\n"
        )
        (info / "entry_points.txt").write_text(f"[replicate]\n{name} = {value}\n")
        importlib.invalidate_caches()
        _plugins.reset()

    def module(self, module: str) -> Any:
        return sys.modules[module]


def installed_dists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, only_added: bool = False, **options: Any
) -> Iterator[Dists]:
    """The body of a ``dists`` fixture: a site folder on ``sys.path`` for :class:`Dists`
    (``options`` go to it; ``only_added``: only its plugins load), and every module and plugin
    it loaded forgotten afterwards."""
    if only_added:
        options["monkeypatch"] = monkeypatch
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    d = Dists(site, **options)
    yield d
    for module in d.modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()
    _plugins.reset()
