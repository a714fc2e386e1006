"""Webhooks: a small web app receives a prediction's updates and checks their signatures.

    python examples/webhooks.py

Starts a standard-library HTTP server on 127.0.0.1 (a free port), creates a prediction whose
``webhook`` is that server's URL, and prints each delivery the API POSTs to it as the
prediction runs, after checking its ``webhook-signature`` with :func:`replicate.webhooks.validate`
and the account's signing secret. A forged delivery is refused with 400.

Runs on the offline emulator in this process (no token; it still delivers webhooks over real
HTTP, from a background thread); ``REPLICATE_BASE_URL`` (e.g. a ``replicate-emulator serve``
on ``http://127.0.0.1:8787/v1``) or ``REPLICATE_TRANSPORT`` point it elsewhere.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import replicate
from replicate.webhooks import WebhookVerificationError

OFFLINE = not (os.environ.get("REPLICATE_BASE_URL") or os.environ.get("REPLICATE_TRANSPORT"))
TERMINAL = ("succeeded", "failed", "canceled", "aborted")


class WebhookApp(ThreadingHTTPServer):
    """The receiving web app: valid deliveries go into ``received``."""

    def __init__(self, secret: str) -> None:
        super().__init__(("127.0.0.1", 0), WebhookHandler)
        self.secret = secret
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/replicate"


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookApp

    def do_POST(self) -> None:
        # Validate the raw bytes as received: re-encoding the JSON would break the signature.
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            replicate.webhooks.validate(headers=self.headers, body=body, secret=self.server.secret)
        except WebhookVerificationError as exc:
            self.answer(400, f"invalid webhook: {exc}")
            return
        self.server.received.put(json.loads(body))
        self.answer(200, "ok")

    def answer(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the example's output to what it prints itself


def main() -> None:
    with replicate.Replicate(transport="emulator" if OFFLINE else None) as client:
        # The signing secret of the account's webhooks ("whsec_..."): keep it server-side.
        secret = client.webhooks.default.secret.get().key
        assert secret, "the API gave no signing secret"
        app = WebhookApp(secret)
        threading.Thread(target=app.serve_forever, daemon=True).start()
        try:
            prediction = client.models.predictions.create(
                "replicate",
                "stream-tokens",
                input={"prompt": "webhooks", "max_tokens": 12, "delay": 0.1},
                webhook=app.url,
                webhook_events_filter=["start", "output", "completed"],
            )
            print(f"created {prediction.id}, webhooks to {app.url}")
            # Output deliveries come at most every 500 ms; the final state always comes.
            while True:
                update = app.received.get(timeout=30)
                output = "".join(update.get("output") or [])
                print(f"webhook (signature valid): {update['status']:<10} output={output!r}")
                if update["status"] in TERMINAL:
                    break

            # Anyone can POST to the URL: without a valid signature the app refuses it.
            forged = urllib.request.Request(
                app.url,
                data=json.dumps({**update, "output": "forged"}).encode(),
                headers={
                    "webhook-id": "msg_forged",
                    "webhook-timestamp": str(int(time.time())),
                    "webhook-signature": "v1,Zm9yZ2Vk",
                },
                method="POST",
            )
            direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback
            try:
                direct.open(forged, timeout=10)
            except urllib.error.HTTPError as exc:
                print(f"forged delivery: {exc.code} {exc.read().decode()}")
        finally:
            app.shutdown()
            app.server_close()


if __name__ == "__main__":
    main()
