"""Conformance with the official SDKs, against the emulator served on loopback.

The official SDKs, ``replicate==1.0.7`` (v1) and ``replicate==2.0.0b4`` (v2), share this SDK's
distribution name, so each lives in a virtualenv of its own (``scripts/_anchors.sh`` makes
``.venv-anchors/v1`` and ``.venv-anchors/v2``; ``REPLICATE_ANCHOR_V1`` / ``REPLICATE_ANCHOR_V2``
name other interpreters) and runs as a child process: ``tests/anchors/v1_flows.py`` and
``v2_flows.py`` drive the shared flows of ``tests/anchors/flows.py`` (``run()``, prediction
create/get/list/cancel, ``models.get``, v1's ``stream()``, file upload) through the SDK's own
API, unchanged, configured by environment as a user would, and print the normalized answers.

Each SDK, ours included, gets a fresh emulator of its own served with ``serve()`` on a free
port, seeded alike, so that every run sees the same state; our SDK runs the same flow code in
process. The answers must be equal, flow by flow (v1's models declare fewer fields than the API
sends, so for v1 its field names need only be among ours).

Without an anchor interpreter the tests that need it are skipped with one line saying how to
make it; under ``CI=true`` that is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from replicate_emulator.app import Emulator
from replicate_emulator.builtin_models import HELLO_WORLD, SLOW_PROGRESS
from replicate_emulator.predictors import Predictor
from replicate_emulator.server import serve
from support import ROOT

import replicate

ANCHOR_DIR = Path(__file__).resolve().parent / "anchors"
sys.path.insert(0, str(ANCHOR_DIR))
import flows  # noqa: E402  (tests/anchors/flows.py, shared with the anchor scripts)

#: name -> (pinned requirement, environment variable naming another interpreter).
ANCHORS: dict[str, tuple[str, str]] = {
    "v1": ("replicate==1.0.7", "REPLICATE_ANCHOR_V1"),
    "v2": ("replicate==2.0.0b4", "REPLICATE_ANCHOR_V2"),
}
#: Versions each child may report (v2 reports its PEP 440 version in semver spelling).
ANCHOR_VERSIONS = {"v1": {"1.0.7"}, "v2": {"2.0.0b4", "2.0.0-beta.4"}}
#: Read as the run starts: conftest clears every ``REPLICATE_*`` variable before each test.
_SETTINGS = {name: os.environ.get(var) for name, (_, var) in ANCHORS.items()}
_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

UPLOAD = b"conformance upload\n" + bytes(range(256))


def file_digest(file: Path) -> str:
    """Says how many bytes the file input had, and their SHA-256."""
    data = file.read_bytes()
    return f"{len(data)}:{hashlib.sha256(data).hexdigest()}"


DIGEST = Predictor(file_digest, "conformance/file-digest")


def anchor_python(name: str) -> Path:
    """The interpreter of anchor ``name``; a skip (an error under CI) when it is missing."""
    requirement, var = ANCHORS[name]
    setting = _SETTINGS[name]
    path = Path(setting) if setting else ROOT / ".venv-anchors" / name / "bin" / "python"
    if path.is_file() and os.access(path, os.X_OK):
        return path
    message = (
        f"official SDK {requirement} not found at {path}: run `bash scripts/_anchors.sh` "
        f"(or set {var} to a python that has it)"
    )
    if _CI:
        pytest.fail(f"{message}. CI=true: these tests may not be skipped", pytrace=False)
    pytest.skip(message)


def _config(upload_path: Path, streams: bool) -> dict[str, Any]:
    return {
        "hello_version": HELLO_WORLD.version_id,
        "slow_version": SLOW_PROGRESS.version_id,
        "digest_ref": DIGEST.ref,
        "upload_path": str(upload_path),
        "streams": streams,
    }


@pytest.fixture(scope="module")
def upload_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("anchors") / "anchor-upload.txt"
    path.write_bytes(UPLOAD)
    return path


class _Served:
    """A fresh emulator, seeded with the file-digest model, served on a free loopback port."""

    def __init__(self) -> None:
        self.emulator = Emulator(models=[DIGEST], entry_points=False)
        self.server = serve(self.emulator, port=0)
        self.url = self.server.url.rstrip("/")

    def close(self) -> None:
        self.server.close()
        self.emulator.close()


def _child_env(base_url: str) -> dict[str, str]:
    """The parent's environment without its Replicate, proxy or Python-path settings, plus
    the SDK's configuration."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REPLICATE_", "PYTHON")) and not k.lower().endswith("_proxy")
    }
    env.update(
        REPLICATE_API_TOKEN=TOKEN,
        REPLICATE_BASE_URL=base_url,
        REPLICATE_POLL_INTERVAL="0.05",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def run_anchor(name: str, python: Path, upload_path: Path) -> dict[str, Any]:
    """Run the flows through anchor ``name`` against a fresh served emulator."""
    s = _Served()
    try:
        # v1 adds /v1 to the base URL itself; v2 expects it in the base URL.
        base = s.url if name == "v1" else s.url + "/v1"
        proc = subprocess.run(
            [
                str(python),
                str(ANCHOR_DIR / f"{name}_flows.py"),
                json.dumps(_config(upload_path, name == "v1")),
            ],
            cwd=str(ANCHOR_DIR),  # so that the child's `import replicate` is the official SDK
            env=_child_env(base),
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        s.close()
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{name} printed nothing (exit {proc.returncode}); stderr:\n{proc.stderr[-4000:]}"
    answer: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in answer, f"{name} failed: {answer['error']}\n{answer.get('trace', '')}"
    assert proc.returncode == 0, proc.stderr[-4000:]
    return answer


class Ours:
    """Our SDK's side of :class:`flows.SDK`: the same calls, v2-style, on one client."""

    name = "ours"

    def __init__(self, client: replicate.Replicate) -> None:
        self.c = client

    def run(self, ref: str, input: dict[str, Any]) -> Any:
        return self.c.run(ref, input=input)

    def create(self, version: str, input: dict[str, Any]) -> Any:
        return self.c.predictions.create(version=version, input=input)

    def get(self, prediction_id: str) -> Any:
        return self.c.predictions.get(prediction_id)

    def wait(self, prediction_id: str) -> Any:
        return self.c.predictions.wait(prediction_id)

    def list_ids(self) -> list[str]:
        return [p.id for p in self.c.predictions.list().results]

    def cancel(self, prediction_id: str) -> Any:
        return self.c.predictions.cancel(prediction_id)

    def model(self, owner: str, name: str) -> Any:
        return self.c.models.get(model_owner=owner, model_name=name)

    def stream(self, ref: str, input: dict[str, Any]) -> list[tuple[str, str]]:
        return [(e.event, e.data) for e in self.c.stream(ref, input=input)]

    def upload(self, path: str) -> Any:
        file = Path(path)
        return self.c.files.create(content=file, filename=file.name, type="text/plain")

    def get_file(self, file_id: str) -> Any:
        return self.c.files.get(file_id)

    def list_file_ids(self) -> list[str]:
        return [f.id for f in self.c.files.list()]

    def delete_file(self, file_id: str) -> None:
        self.c.files.delete(file_id)

    def fields(self, obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = obj.to_dict()
        return data


def run_ours(upload_path: Path, streams: bool) -> dict[str, Any]:
    """The flows through our SDK, over HTTP, against a fresh served emulator."""
    s = _Served()
    try:
        with pytest.MonkeyPatch.context() as mp:
            for var in [v for v in os.environ if v.startswith("REPLICATE_")]:
                mp.delenv(var)
            mp.setenv("REPLICATE_PLUGINS", "")
            mp.setenv("REPLICATE_POLL_INTERVAL", "0.05")
            with replicate.Replicate(bearer_token=TOKEN, base_url=s.url + "/v1") as client:
                return flows.run_flows(Ours(client), _config(upload_path, streams))
    finally:
        s.close()


_cache: dict[str, dict[str, Any]] = {}


def answers(name: str, upload_path: Path) -> dict[str, Any]:
    """The anchor's answer (``{"sdk", "version", "results"}``), computed once per run."""
    if name not in _cache:
        _cache[name] = run_anchor(name, anchor_python(name), upload_path)
    return _cache[name]


def our_results(upload_path: Path) -> dict[str, Any]:
    if "ours" not in _cache:
        _cache["ours"] = run_ours(upload_path, streams=True)
    return _cache["ours"]


FLOWS = [
    "run",
    "run_version",
    "run_tokens",
    "run_file_output",
    "run_file_input",
    "create",
    "create_status_known",
    "wait",
    "get",
    "cancel_answer_status",
    "canceled",
    "list",
    "model",
    "file_create",
    "file_get",
    "file_listed",
    "file_listed_after_delete",
]
#: v2 has no stream(): the streaming flow is v1's.
CASES = [(name, flow) for name in ANCHORS for flow in FLOWS] + [("v1", "stream")]


def _split(answer: Any) -> tuple[Any, list[str] | None]:
    """A flow's answer without its field names, and the field names (None: none listed)."""
    if isinstance(answer, dict) and "fields" in answer:
        rest = {k: v for k, v in answer.items() if k != "fields"}
        return rest, answer["fields"]
    return answer, None


def test_our_answers_are_the_emulators(upload_path: Path) -> None:
    """Our own answers are right, so that agreeing with them means something."""
    ours = our_results(upload_path)
    assert ours["run"] == "hello anchor"
    assert ours["run_version"] == "hello pinned"
    assert "".join(ours["run_tokens"]).startswith("You said: hi.")
    assert len(ours["run_tokens"]) == 6
    assert ours["run_file_output"]["size"] > 8  # a PNG
    assert ours["run_file_input"] == f"{len(UPLOAD)}:{hashlib.sha256(UPLOAD).hexdigest()}"
    assert ours["create"]["id"] == ours["wait"]["id"] == ours["get"]["id"] == "<id 0>"
    assert ours["wait"]["status"] == ours["get"]["status"] == "succeeded"
    assert ours["get"]["output"] == "hello created"
    assert ours["get"]["has_predict_time"] is True
    assert ours["canceled"]["status"] == "canceled"
    assert ours["canceled"]["logs_started"] is True
    assert ours["list"][:2] == ["<id 1>", "<id 0>"]
    assert ours["model"]["latest_version"] == HELLO_WORLD.version_id
    assert ours["stream"] == ["You", " said:", " yo.", " the", " quick"]
    upload_sha = hashlib.sha256(UPLOAD).hexdigest()
    assert ours["file_create"]["sha256"] == ours["file_get"]["sha256"] == upload_sha
    assert ours["file_create"]["size"] == len(UPLOAD)
    assert ours["file_listed"] is True
    assert ours["file_listed_after_delete"] is False


@pytest.mark.parametrize("name", list(ANCHORS))
def test_anchor_is_the_official_sdk(name: str, upload_path: Path) -> None:
    answer = answers(name, upload_path)
    assert answer["sdk"] == name
    assert answer["version"] in ANCHOR_VERSIONS[name]


@pytest.mark.parametrize(("name", "flow"), CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_same_answer_as_ours(name: str, flow: str, upload_path: Path) -> None:
    theirs = answers(name, upload_path)["results"]
    ours = our_results(upload_path)
    assert flow in theirs and flow in ours
    their_value, their_fields = _split(theirs[flow])
    our_value, our_fields = _split(ours[flow])
    assert their_value == our_value
    assert (their_fields is None) == (our_fields is None)
    if their_fields is not None and our_fields is not None:
        if name == "v1":  # v1's models declare a subset of the fields the API sends
            assert set(their_fields) <= set(our_fields), sorted(set(their_fields) - set(our_fields))
        else:
            assert their_fields == our_fields
