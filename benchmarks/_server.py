"""A keep-alive loopback HTTP/1.1 server that answers like the API for one finished prediction.

Run as a separate process so that its CPU time never counts against the client being measured:
``python benchmarks/_server.py`` prints the port on stdout, then serves until killed.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREDICTION = {
    "id": "gm3qorzdhgbfurvjtvhg6dckhu",
    "model": "replicate/hello-world",
    "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
    "input": {"text": "Alice"},
    "output": "hello Alice",
    "logs": "Using seed: 12345\nPrediction took 0.1 seconds",
    "error": None,
    "status": "succeeded",
    "source": "api",
    "data_removed": False,
    "created_at": "2024-04-23T18:55:47.081Z",
    "started_at": "2024-04-23T18:55:47.196357Z",
    "completed_at": "2024-04-23T18:55:47.231913Z",
    "urls": {
        "get": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
        "cancel": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel",
        "web": "https://replicate.com/p/gm3qorzdhgbfurvjtvhg6dckhu",
    },
    "metrics": {"predict_time": 0.035556, "total_time": 0.150913},
}
BODY = json.dumps(PREDICTION).encode()
#: A real Cog schema (33 KB: cjwbw/vq-diffusion, from the recorded collections-get traffic), so
#: that schema handling is measured at a realistic size.
SCHEMA = json.loads((Path(__file__).resolve().parent / "data" / "cog_schema.json").read_text())
VERSION = json.dumps(
    {"id": PREDICTION["version"], "cog_version": "0.3.13", "openapi_schema": SCHEMA}
).encode()
MODEL = json.dumps(
    {
        "owner": "replicate",
        "name": "hello-world",
        "latest_version": json.loads(VERSION),
    }
).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response: headers and body in separate small writes meet the client's
    # delayed ACK (Nagle), adding ~40 ms of idle wall time per request.
    wbufsize = 64 * 1024

    def do_GET(self) -> None:
        """A prediction; a model (``/v1/models/o/n``) or version (``.../versions/id``) with
        the Cog schema."""
        if self.path.startswith("/v1/models/"):
            self._send(200, VERSION if "/versions/" in self.path else MODEL)
        else:
            self._send(200, BODY)

    def do_POST(self) -> None:
        """A create in sync mode: 201 with the finished prediction, as the API answers."""
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._send(201, BODY, {"Preference-Applied": "wait=60"})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    finally:
        sys.stdout.close()


if __name__ == "__main__":
    main()
