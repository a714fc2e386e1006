"""Run a model: wait for its output, or start it and come back for it.

    python examples/run.py

Runs on the offline emulator in this process (no token, no network). To run against another
server, set ``REPLICATE_BASE_URL`` (and any token in ``REPLICATE_API_TOKEN``), e.g. for
``replicate-emulator serve``: ``REPLICATE_BASE_URL=http://127.0.0.1:8787/v1``; or pick a
transport with ``REPLICATE_TRANSPORT``.
"""

from __future__ import annotations

import os

import replicate

# The emulator in process unless the environment names another server or transport.
OFFLINE = not (os.environ.get("REPLICATE_BASE_URL") or os.environ.get("REPLICATE_TRANSPORT"))


def main() -> None:
    with replicate.Replicate(transport="emulator" if OFFLINE else None) as client:
        # 1. Run and wait (sync mode): the call returns the finished output.
        print("run:", client.run("replicate/hello-world", input={"text": "Ada"}))

        # 2. A model as a function, its inputs checked against the model's schema.
        hello = client.use("replicate/hello-world")
        print("use:", hello(text="Grace"))

        # 3. Start a prediction without waiting, then wait for it by its id (polling).
        started = client.models.predictions.create(
            "replicate", "slow-progress", input={"steps": 5, "seconds_per_step": 0.05}
        )
        print(f"created {started.id}: {started.status}")
        done = client.predictions.wait(started.id, poll_interval=0.1)
        print(f"finished {done.id}: {done.status}, output {done.output!r}")
        print("last log line:", (done.logs or "").splitlines()[-1])

        # 4. Bad input is refused by the API with a 422 naming the field.
        try:
            client.run("replicate/png-image", input={"width": 5000})
        except replicate.UnprocessableEntityError as exc:
            print(f"refused: {exc.status_code} {(exc.detail or '').strip()}")


if __name__ == "__main__":
    main()
