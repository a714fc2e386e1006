"""A keep-alive loopback HTTP/1.1 server answering every GET with one prediction as JSON.

Run as a separate process so that its CPU time never counts against the client being measured:
``python benchmarks/_server.py`` prints the port on stdout, then serves until killed.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

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
