"""Replay recorded exchanges (tests/cassettes.py) on a loopback pytest-httpserver.

:func:`serve` registers one recorded exchange as a one-shot expectation (exact method, path and
query string) whose handler captures what arrived and answers with the recorded status, headers
and body. :func:`assert_request_matches` then checks the captured request against the recording:
method, path, query, media type, ``Prefer``, and the body (parsed JSON, raw bytes for text, or the
``content`` part and filename of a multipart upload).

Route templates use the spec's names (``/models/{model_owner}/{model_name}``), relative to
``/v1`` for the API host; other hosts are written ``//host/path`` and ``{name*}`` matches several
path segments.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

try:
    from tests.cassettes import Exchange
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from cassettes import Exchange  # type: ignore[no-redef]

API_HOST = "api.replicate.com"
API_PREFIX = "/v1"

__all__ = [
    "Captured",
    "Replay",
    "assert_request_matches",
    "compile_template",
    "media_type",
    "parse_multipart",
    "route_key",
    "serve",
]


# --------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------


def route_key(ex: Exchange) -> str:
    """The exchange's path as routed: relative to /v1 on the API host, else ``//host/path``."""
    if ex.host == API_HOST and ex.path.startswith(API_PREFIX + "/"):
        return ex.path[len(API_PREFIX) :]
    return f"//{ex.host}{ex.path}"


def compile_template(template: str) -> re.Pattern[str]:
    """A regex for a path template: ``{name}`` is one segment, ``{name*}`` one or more."""
    out = ""
    pos = 0
    for m in re.finditer(r"\{(\w+)(\*?)\}", template):
        out += re.escape(template[pos : m.start()])
        seg = ".+" if m.group(2) else "[^/]+"
        out += f"(?P<{m.group(1)}>{seg})"
        pos = m.end()
    out += re.escape(template[pos:])
    return re.compile(f"^{out}$")


class Router:
    """(method, template) → value, matched against exchanges."""

    def __init__(self, table: Iterable[tuple[str, str, Any]]) -> None:
        self.entries = [(m, t, compile_template(t), v) for m, t, v in table]

    def match(self, ex: Exchange) -> tuple[str, str, dict[str, str], Any] | None:
        key = route_key(ex)
        for method, template, rx, value in self.entries:
            if method == ex.method:
                m = rx.match(key)
                if m:
                    return method, template, m.groupdict(), value
        return None


# --------------------------------------------------------------------------------------------
# Serving and capturing
# --------------------------------------------------------------------------------------------


@dataclass
class Captured:
    """One request as the loopback server received it."""

    method: str
    path: str
    query_string: bytes
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)


def _capture(request: WRequest) -> Captured:
    return Captured(
        method=request.method,
        path=request.path,
        query_string=request.query_string,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=request.get_data(cache=True),
    )


def recorded_response(ex: Exchange) -> WResponse:
    response = WResponse(ex.response_body, status=ex.status, headers=ex.replay_headers())
    # The recorded Content-Type is kept as is (werkzeug would otherwise add a charset).
    return response


def raw_query(ex: Exchange) -> str:
    return ex.url.split("?", 1)[1].split("#", 1)[0] if "?" in ex.url else ""


@dataclass
class Replay:
    """Exchanges registered on a server, and what the server captured for them."""

    server: HTTPServer
    captured: list[Captured] = field(default_factory=list)

    def expect(self, ex: Exchange) -> None:
        """Expect exactly ``ex``'s method, path and query string once; answer as recorded."""

        def handler(request: WRequest) -> WResponse:
            self.captured.append(_capture(request))
            return recorded_response(ex)

        self.server.expect_oneshot_request(
            ex.path, method=ex.method, query_string=raw_query(ex)
        ).respond_with_handler(handler)

    def unmatched(self) -> list[str]:
        """Requests the server had no expectation for (it answered them 500)."""
        return [
            f"{req.method} {req.full_path}"
            for req, resp in self.server.log
            if resp.status_code == 500 and b"No handler found" in resp.get_data()
        ]

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run the SDK call; if the server saw a request it did not expect, say which."""
        try:
            return fn()
        except Exception as exc:
            stray = self.unmatched()
            if stray:
                raise AssertionError(
                    f"the SDK sent a request that does not match the recording: {stray}; "
                    f"expected {self.server.format_matchers()}"
                ) from exc
            if not self.server.log:
                raise AssertionError(
                    "the SDK refused the recorded request before sending it: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            raise


def serve(server: HTTPServer, ex: Exchange) -> Replay:
    replay = Replay(server)
    replay.expect(ex)
    return replay


# --------------------------------------------------------------------------------------------
# Comparing a captured request with the recorded one
# --------------------------------------------------------------------------------------------


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, Any]]:
    """``(form fields, {name: (filename, bytes, part content type)})`` of a multipart body."""
    request = WRequest.from_values(
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type=content_type,
        method="POST",
    )
    with request:  # closes the parsed file parts
        form = {k: v for k, v in request.form.items(multi=False)}
        files = {
            name: (storage.filename, storage.read(), storage.content_type)
            for name, storage in request.files.items(multi=False)
        }
    return form, files


def assert_request_matches(ex: Exchange, got: Captured) -> None:
    """The captured request is the recorded one: method, path, query, Prefer and body."""
    assert got.method == ex.method, f"method {got.method} != recorded {ex.method}"
    assert got.path == ex.path, f"path {got.path} != recorded {ex.path}"
    assert got.query_string.decode() == raw_query(ex), (
        f"query {got.query_string!r} != recorded {raw_query(ex)!r}"
    )
    assert got.headers.get("prefer") == ex.request_header("prefer"), (
        f"Prefer {got.headers.get('prefer')!r} != recorded {ex.request_header('prefer')!r}"
    )

    recorded_type = media_type(ex.request_header("content-type"))
    if not ex.request_body:
        assert got.body == b"", f"body {got.body[:200]!r} where the recording sent none"
        return
    assert media_type(got.content_type) == recorded_type, (
        f"Content-Type {got.content_type!r} != recorded {recorded_type!r}"
    )
    if recorded_type == "application/json":
        assert got.json() == json.loads(ex.request_body), (
            f"JSON body {got.body[:500]!r} != recorded {ex.request_body[:500]!r}"
        )
    elif recorded_type == "multipart/form-data":
        want_form, want_files = parse_multipart(
            ex.request_body, ex.request_header("content-type") or ""
        )
        got_form, got_files = parse_multipart(got.body, got.content_type)
        assert set(got_files) == set(want_files), f"file parts {set(got_files)}"
        for name, (filename, content, part_type) in want_files.items():
            assert got_files[name][0] == filename, f"{name}: filename {got_files[name][0]!r}"
            assert got_files[name][1] == content, f"{name}: content {got_files[name][1][:100]!r}"
            assert got_files[name][2] == part_type, f"{name}: part type {got_files[name][2]!r}"
        # v1 sent the bare ``content`` part; fields it did not send may be added (the spec's
        # ``filename``/``type``/``metadata``), but the ones it sent must be the same.
        for name, value in want_form.items():
            assert got_form.get(name) == value, f"form field {name}: {got_form.get(name)!r}"
        if "filename" in got_form:
            assert got_form["filename"] == got_files["content"][0]
    else:
        assert got.body == ex.request_body, f"body {got.body[:200]!r} != {ex.request_body[:200]!r}"
