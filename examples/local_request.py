"""The main job until the offline emulator lands: a real request through the SDK.

Starts a loopback HTTP server that answers like the API for one prediction, then fetches it
with ``replicate.Replicate`` (raw ``client.get`` and a typed decode) and prints what came back.
Nothing leaves this machine.

    python examples/local_request.py
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import replicate
from replicate.types import Prediction

PREDICTION = {
    "id": "gm3qorzdhgbfurvjtvhg6dckhu",
    "model": "replicate/hello-world",
    "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
    "input": {"text": "Alice"},
    "output": "hello Alice",
    "status": "succeeded",
    "data_removed": False,
    "created_at": "2024-04-23T18:55:47.081Z",
    "completed_at": "2024-04-23T18:55:47.231913Z",
    "urls": {
        "get": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
        "cancel": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel",
        "web": "https://replicate.com/p/gm3qorzdhgbfurvjtvhg6dckhu",
    },
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Bearer r8_local_demo":
            body, status = b'{"title":"Unauthenticated","detail":"bad token","status":401}', 401
        elif self.path == f"/v1/predictions/{PREDICTION['id']}":
            body, status = json.dumps(PREDICTION).encode(), 200
        else:
            body, status = b'{"detail":"Not found.","status":404}', 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        with replicate.Replicate(bearer_token="r8_local_demo", base_url=base_url) as client:
            response = client.get(f"/predictions/{PREDICTION['id']}")
            prediction = response.parse(Prediction)
            print(f"GET /predictions/{prediction.id} -> {response.status_code}")
            print(f"status={prediction.status} output={prediction.output!r}")
            print(f"created_at={prediction.created_at.isoformat()}")
            try:
                client.get("/predictions/missing")
            except replicate.NotFoundError as exc:
                print(f"typed error: {type(exc).__name__}: {exc}")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
