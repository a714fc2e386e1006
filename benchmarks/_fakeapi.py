"""The benchmark runner's fake API: one asyncio process on 127.0.0.1 answering every scenario
from pre-built bytes, so that it costs less CPU per request than any client it serves.

    python benchmarks/_fakeapi.py PAGES_FILE SSE_EVENTS

prints its port, then serves until killed. Stdlib only (the page bodies come from a file the
runner writes with ``_pages.py``). Requests are parsed by hand (request line, the few headers
that matter, ``Content-Length`` or chunked bodies counted as they stream in, never buffered):

* ``GET /v1/predictions/{id}``: ``_server.py``'s finished prediction (``SSE_PID``: a processing
  one whose ``urls.stream`` points back here);
* ``POST /v1/models/{o}/{n}/predictions`` and ``/v1/predictions``: 201 with the finished
  prediction when the request asks ``Prefer: wait``, else a ``starting`` one (the next GET of it
  answers finished: one poll);
* ``GET /v1/predictions[?cursor=N]``: the pages of ``PAGES_FILE`` linked by absolute ``next``;
* ``GET /stream/{id}``: ``SSE_EVENTS`` output events then ``done``, in 64 KiB HTTP chunks;
* ``GET /download/{bytes}``: that many zero bytes, written under the transport's flow control;
* ``POST /v1/files``: the body counted and dropped, 201 with a file object;
* ``GET /_stats``: ``{"cpu_s", "requests"}``, the process's CPU time and requests served so far
  (not counted itself): the runner reads it around every sample to show the server's CPU per
  request next to each client's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _server import BODY, MODEL, PREDICTION, VERSION  # noqa: E402

PID = PREDICTION["id"]
SSE_PID = "4awn473bsrztjzlx2b6ufoxkkm"
CHUNK = 64 * 1024
TOKENS = [" Sure", "!", " Here", "'s", " a", " poem", " about", " open", " source", " é", " 🦙"]
FILE = {
    "id": "MTQzODcyMDgtYmJlNC00OTRlLWI0NDEtYzBjNmVmNDhhOGU4",
    "name": "upload.bin",
    "content_type": "application/octet-stream",
    "size": 0,
    "etag": "7a1e1a6e4fb1f0d0d03a4a4e0b5b9f5e",
    "checksums": {"sha256": "0" * 64, "md5": "0" * 32},
    "metadata": {},
    "created_at": "2024-04-23T18:55:47.081Z",
    "expires_at": "2024-04-24T18:55:47.081Z",
    "urls": {
        "get": "https://api.replicate.com/v1/files/MTQzODcyMDgtYmJlNC00OTRlLWI0NDEtYzBjNmVmNDhhOGU4"
    },
}
ZEROS = memoryview(bytes(1 << 20))


def response(status: int, body: bytes, extra: str = "", ctype: str = "application/json") -> bytes:
    reason = {200: "OK", 201: "Created", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def sse_stream(n_events: int) -> bytes:
    parts = [
        f"event: output\nid: 1690212292:{i}\ndata: {TOKENS[i % len(TOKENS)]}\n\n"
        for i in range(n_events)
    ]
    parts.append("event: done\nid: 1690212292:done\ndata: {}\n\n")
    raw = "".join(parts).encode()
    framed = b"".join(
        b"%x\r\n%s\r\n" % (len(piece), piece)
        for piece in (raw[i : i + CHUNK] for i in range(0, len(raw), CHUNK))
    )
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    return head + framed + b"0\r\n\r\n"


class Answers:
    """Every response, built once the port is known."""

    def __init__(self, port: int, pages_file: Path, sse_events: int) -> None:
        base = f"http://127.0.0.1:{port}"
        self.finished = response(200, BODY)
        self.created = response(201, BODY, "Preference-Applied: wait=60\r\n")
        starting = dict(PREDICTION, status="starting", output=None, completed_at=None)
        starting["urls"] = dict(starting["urls"], get=f"{base}/v1/predictions/{PID}")  # type: ignore[call-overload]
        self.starting = response(201, json.dumps(starting).encode())
        self.model = response(200, MODEL)
        self.version = response(200, VERSION)
        sse = {
            **PREDICTION,
            "id": SSE_PID,
            "status": "processing",
            "output": None,
            "completed_at": None,
            "urls": {
                "get": f"{base}/v1/predictions/{SSE_PID}",
                "cancel": f"{base}/v1/predictions/{SSE_PID}/cancel",
                "stream": f"{base}/stream/{SSE_PID}",
            },
        }
        self.sse_prediction = response(200, json.dumps(sse).encode())
        self.sse = sse_stream(sse_events)
        self.file = response(201, json.dumps(FILE).encode())
        self.not_found = response(404, b'{"detail":"not found","status":404}')
        self.pages: list[bytes] = []
        raw = [json.loads(line) for line in pages_file.read_bytes().split(b"\n") if line]
        for i, page in enumerate(raw):
            page["next"] = f"{base}/v1/predictions?cursor={i + 1}" if i + 1 < len(raw) else None
            page["previous"] = f"{base}/v1/predictions?cursor={i - 1}" if i else None
            body = json.dumps(page, separators=(",", ":"), ensure_ascii=False).encode()
            self.pages.append(response(200, body))


class Stats:
    requests = 0


class Conn(asyncio.BufferedProtocol):
    """One keep-alive connection: requests parsed as bytes arrive, answered in order. Bytes
    are received into one 1 MiB buffer per connection: an upload's body is counted there and
    never copied."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.buf = b""
        self.body_left = 0  # bytes of a Content-Length body still to drop
        self.chunked = False  # inside a chunked body
        self.pending: bytes | None = None  # the answer to send once the body is in
        self.download_left = 0
        self.paused = False
        self.transport: asyncio.Transport | None = None
        self.recv = memoryview(bytearray(1 << 20))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._pump()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.recv

    def buffer_updated(self, nbytes: int) -> None:
        if not self.buf and nbytes <= self.body_left:  # inside a body: count, copy nothing
            self.body_left -= nbytes
            if not self.body_left and not self.chunked:
                self._finish_body()
            return
        self.data_received(bytes(self.recv[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.buf and not self.download_left:
            if self.body_left:
                take = min(self.body_left, len(self.buf))
                self.body_left -= take
                self.buf = self.buf[take:]
                if self.body_left:
                    return
                if not self.chunked:  # a chunk's data ends: its size line comes next
                    self._finish_body()
                continue
            if self.chunked:
                if not self._chunked_step():
                    return
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4 :]
            self._request(head)

    def _chunked_step(self) -> bool:
        """Drop one chunk (or the end of the body); False when more bytes are needed."""
        line_end = self.buf.find(b"\r\n")
        if line_end < 0:
            return False
        size = int(self.buf[:line_end].split(b";")[0], 16)
        if size == 0:
            end = self.buf.find(b"\r\n\r\n", line_end)
            if end < 0:
                return False
            self.buf = self.buf[end + 4 :]
            self.chunked = False
            self._finish_body()
            return True
        self.buf = self.buf[line_end + 2 :]
        self.body_left = size + 2  # the chunk and its CRLF
        return True

    def _finish_body(self) -> None:
        answer, self.pending = self.pending, None
        if answer is not None:
            self._write(answer)

    def _request(self, head: str) -> None:
        lines = head.split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if target == "/_stats":
            body = json.dumps({"cpu_s": time.process_time(), "requests": Stats.requests}).encode()
            self._write(response(200, body))
            return
        Stats.requests += 1
        answer = self._route(method, target, headers)
        length = int(headers.get("content-length") or 0)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.pending, self.chunked = answer, True
        elif length:
            self.pending, self.body_left = answer, length
        elif answer is not None:
            self._write(answer)

    def _route(self, method: str, target: str, headers: dict[str, str]) -> bytes | None:
        a = self.answers
        path, _, query = target.partition("?")
        if method == "GET":
            if path == "/v1/predictions":
                cursor = int(query.partition("cursor=")[2] or 0) if "cursor=" in query else 0
                return a.pages[cursor] if 0 <= cursor < len(a.pages) else a.not_found
            if path.startswith("/v1/predictions/"):
                return a.sse_prediction if path.endswith(SSE_PID) else a.finished
            if path.startswith("/stream/"):
                return a.sse
            if path.startswith("/download/"):
                size = int(path.rsplit("/", 1)[1])
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Length: {size}\r\n\r\n"
                )
                assert self.transport is not None
                self.transport.write(head.encode())
                self.download_left = size
                self._pump()
                return None
            if path.startswith("/v1/models/"):
                return a.version if "/versions/" in path else a.model
            return a.not_found
        if method == "POST":
            if path == "/v1/files":
                return a.file
            if path.endswith("/predictions"):
                return a.created if "wait" in headers.get("prefer", "") else a.starting
        return a.not_found

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def _pump(self) -> None:
        """Write the download's next chunks until the transport asks to pause."""
        assert self.transport is not None
        while self.download_left and not self.paused:
            piece = ZEROS[: min(len(ZEROS), self.download_left)]
            self.transport.write(piece)
            self.download_left -= len(piece)
        if not self.download_left and self.buf:
            self.data_received(b"")


async def serve(pages_file: Path, sse_events: int) -> None:
    loop = asyncio.get_running_loop()
    holder: dict[str, Any] = {}
    server = await loop.create_server(lambda: Conn(holder["answers"]), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    holder["answers"] = Answers(port, pages_file, sse_events)
    print(port, flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]), int(sys.argv[2])))
