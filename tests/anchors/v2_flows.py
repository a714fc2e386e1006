"""The shared flows (``flows.py``) through the official SDK ``replicate==2.0.0b4``, unchanged.

Run by that SDK's own interpreter (the package is named ``replicate`` like ours), configured as a
user configures it: ``REPLICATE_API_TOKEN``, ``REPLICATE_BASE_URL`` (ending in ``/v1``) and
``REPLICATE_POLL_INTERVAL``. v2 has no ``stream()``, so the streaming flow is not run here.
Prints one JSON object (see ``flows.main``).
"""

from __future__ import annotations

import pathlib
from typing import Any

import flows

import replicate
from replicate._version import __version__


class V2:
    name = "v2"

    def run(self, ref: str, input: dict[str, Any]) -> Any:
        return replicate.run(ref, input=input)

    def create(self, version: str, input: dict[str, Any]) -> Any:
        return replicate.predictions.create(version=version, input=input)

    def get(self, prediction_id: str) -> Any:
        return replicate.predictions.get(prediction_id=prediction_id)

    def wait(self, prediction_id: str) -> Any:
        return replicate.predictions.wait(prediction_id=prediction_id)

    def list_ids(self) -> list[str]:
        return [p.id for p in replicate.predictions.list().results]

    def cancel(self, prediction_id: str) -> Any:
        return replicate.predictions.cancel(prediction_id=prediction_id)

    def model(self, owner: str, name: str) -> Any:
        return replicate.models.get(model_owner=owner, model_name=name)

    def stream(self, ref: str, input: dict[str, Any]) -> list[tuple[str, str]]:
        raise NotImplementedError("replicate 2.0.0b4 has no stream()")

    def upload(self, path: str) -> Any:
        file = pathlib.Path(path)
        return replicate.files.create(content=file, filename=file.name, type="text/plain")

    def get_file(self, file_id: str) -> Any:
        return replicate.files.get(file_id=file_id)

    def list_file_ids(self) -> list[str]:
        return [f.id for f in replicate.files.list()]

    def delete_file(self, file_id: str) -> None:
        replicate.files.delete(file_id=file_id)

    def fields(self, obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = obj.to_dict()
        return data


if __name__ == "__main__":
    flows.main(V2(), __version__)
