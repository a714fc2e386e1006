"""The shared flows (``flows.py``) through the official SDK ``replicate==1.0.7``, unchanged.

Run by that SDK's own interpreter (the package is named ``replicate`` like ours), configured as a
user configures it: ``REPLICATE_API_TOKEN``, ``REPLICATE_BASE_URL`` (the server's root: v1 adds
``/v1`` itself) and ``REPLICATE_POLL_INTERVAL``. Prints one JSON object (see ``flows.main``).
"""

from __future__ import annotations

import pathlib
from typing import Any

import flows
from replicate.__about__ import __version__

import replicate


class V1:
    name = "v1"

    def run(self, ref: str, input: dict[str, Any]) -> Any:
        return replicate.run(ref, input=input)

    def create(self, version: str, input: dict[str, Any]) -> Any:
        return replicate.predictions.create(version=version, input=input)

    def get(self, prediction_id: str) -> Any:
        return replicate.predictions.get(prediction_id)

    def wait(self, prediction_id: str) -> Any:
        prediction = replicate.predictions.get(prediction_id)
        prediction.wait()
        return prediction

    def list_ids(self) -> list[str]:
        return [p.id for p in replicate.predictions.list().results]

    def cancel(self, prediction_id: str) -> Any:
        return replicate.predictions.cancel(prediction_id)

    def model(self, owner: str, name: str) -> Any:
        return replicate.models.get(f"{owner}/{name}")

    def stream(self, ref: str, input: dict[str, Any]) -> list[tuple[str, str]]:
        return [
            (str(getattr(e.event, "value", e.event)), e.data)
            for e in replicate.stream(ref, input=input)
        ]

    def upload(self, path: str) -> Any:
        return replicate.files.create(pathlib.Path(path))

    def get_file(self, file_id: str) -> Any:
        return replicate.files.get(file_id)

    def list_file_ids(self) -> list[str]:
        return [f.id for f in replicate.files.list()]

    def delete_file(self, file_id: str) -> None:
        replicate.files.delete(file_id)

    def fields(self, obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = obj.dict()
        return data


if __name__ == "__main__":
    flows.main(V1(), __version__)
