"""The recorded API traffic (tests/cassettes.py) replayed against the emulator.

Every recorded request is sent, in recorded order, cassette by cassette, to a fresh emulator in
process (``Emulator.handle``); its answer must have the recorded status, media type and JSON
shape.

Seeding. The recordings name real models and versions: the emulator is given models of the
same names, versions and input names (small functions, below), and the models the recordings
expect to exist (``mattt/empty``, a model without versions; ``replicate/dreambooth-sdxl``, a
training destination) are created through the API first. Prediction, training and file ids
differ: an id a recorded answer created is mapped to the id the emulator created, and later
requests carry the emulator's id. A request naming an id the cassette never created (a GET of an
older prediction) is preceded by creating one like it (same version and input) through the API.
Before each request the emulator is left to finish what it was running, so answers show
predictions in their final state. The emulator accepts one token; the recorded 401 (an invalid
token) is sent with another.

Shape. JSON types are compared recursively (null, boolean, number — integers and floats alike —,
string, array, object), with these rules, because the recordings come from real accounts at
moments of their own:

* null against a value: a recorded ``null`` matches anything (the value was not known yet, or
  not set on that account). The emulator may answer ``null`` where the recording has a value
  only for the fields in :data:`MAY_BE_NULL` (values that depend on the moment, or on an
  account's data).
* object keys: a recorded key must be in the answer, unless the current API no longer declares
  it (no response schema of the OpenAPI spec has it in an object held by a property of the
  same name, e.g. trainings' ``webhook_completed``, or the ``stream: true`` that 2023's
  predictions echoed); the answer may carry keys the recording lacks only when the spec
  declares them there (fields added since), or problem-details members. Objects whose keys are data
  (:data:`OPEN_MAPS`: ``metadata``) compare their common keys only.
* ``input`` and ``output`` (:data:`MODEL_DATA`) are compared in the answer's own prediction
  (its ``input`` with exactly the recorded keys: the request's input, echoed);
  nested deeper (a model's ``default_example``) they are another model's data, not compared.
* arrays: each answered item must match one of the recorded items; an empty array on either
  side matches.
* ``openapi_schema`` of the same version: every recorded Input property, with the same JSON
  type and format (an enum through ``allOf``/``$ref`` counts as its enum's type), and the same
  Output type. More properties are fine: the recordings of one version id do not agree
  (``replicate_weights`` and ``disable_safety_checker`` appear in the later ones). Of other
  versions (pages of other models): just an object with Input and Output schemas.

The exchanges that cannot be replayed faithfully are listed, with why, in
:data:`NOT_REPLAYABLE`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.png import encode_png
from replicate_emulator.predictors import File, Input, Predictor, log
from replicate_emulator.wire import EmuRequest, EmuResponse

try:
    from tests import cassettes, reference
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    import cassettes
    import reference

REFERENCE = reference.directory()
EXCHANGES = cassettes.load_all()
ORIGIN = "https://api.replicate.com"
TOKEN = "r8_CassetteReplay0123456789"

#: (exchange id, why it is not sent to the emulator).
NOT_REPLAYABLE: list[tuple[str, str]] = [
    (
        "file-prediction.yaml#0",
        "a GET of an output file on replicate.delivery, the CDN, not an API route",
    ),
]

_SKIPPED = {ex_id for ex_id, _ in NOT_REPLAYABLE}
#: The cassettes with at least one exchange to send.
CASSETTES = sorted({ex.cassette for ex in EXCHANGES if ex.id not in _SKIPPED})

# ============================================================================================
# Seed models: the recordings' models, with their version ids and input names
# ============================================================================================

_PIXEL = encode_png(1, 1, [b"\x20\x40\x80"])
Scheduler = Literal[
    "DDIM",
    "DPMSolverMultistep",
    "HeunDiscrete",
    "KarrasDPM",
    "K_EULER_ANCESTRAL",
    "K_EULER",
    "PNDM",
]
Refine = Literal["no_refiner", "expert_ensemble_refiner", "base_image_refiner"]
# Inputs whose annotations are not plain immutable types, shared by both sdxl signatures.
NO_FILE = Input(default=None)
SCHEDULER = Input(default="K_EULER")
REFINE = Input(default="no_refiner")


def _images(seed: int | None, num_outputs: int) -> list[File]:
    log(f"Using seed: {seed}")
    return [File(_PIXEL, f"out-{i}.png", "image/png") for i in range(num_outputs)]


def sdxl(
    prompt: str = Input(default="An astronaut riding a rainbow unicorn"),
    negative_prompt: str = Input(default=""),
    image: Path = NO_FILE,
    mask: Path = NO_FILE,
    width: int = Input(default=1024),
    height: int = Input(default=1024),
    num_outputs: int = Input(default=1, ge=1, le=4),
    scheduler: Scheduler = SCHEDULER,
    num_inference_steps: int = Input(default=50, ge=1, le=500),
    guidance_scale: float = Input(default=7.5, ge=1, le=50),
    prompt_strength: float = Input(default=0.8, ge=0, le=1),
    seed: int = Input(default=None),
    refine: Refine = REFINE,
    high_noise_frac: float = Input(default=0.8, ge=0, le=1),
    refine_steps: int = Input(default=None),
    apply_watermark: bool = Input(default=True),
    lora_scale: float = Input(default=0.6, ge=0, le=1),
    replicate_weights: str = Input(default=None),
    disable_safety_checker: bool = Input(default=False),
) -> list[File]:
    """A text-to-image generative AI model that creates beautiful images"""
    return _images(seed, num_outputs)


def sdxl_2023(
    prompt: str = Input(default="An astronaut riding a rainbow unicorn"),
    negative_prompt: str = Input(default=""),
    image: Path = NO_FILE,
    mask: Path = NO_FILE,
    width: int = Input(default=1024),
    height: int = Input(default=1024),
    num_outputs: int = Input(default=1, ge=1, le=4),
    scheduler: Scheduler = SCHEDULER,
    num_inference_steps: int = Input(default=50, ge=1, le=500),
    guidance_scale: float = Input(default=7.5, ge=1, le=50),
    prompt_strength: float = Input(default=0.8, ge=0, le=1),
    seed: int = Input(default=None),
    refine: Refine = REFINE,
    high_noise_frac: float = Input(default=0.8, ge=0, le=1),
    refine_steps: int = Input(default=None),
    apply_watermark: bool = Input(default=True),
    lora_scale: float = Input(default=0.6, ge=0, le=1),
) -> list[File]:
    """A text-to-image generative AI model that creates beautiful images"""
    return _images(seed, num_outputs)


_HAIKU = ("Soft", " wool", " on", " green", " hills", "\n")


def llama_2_chat(
    prompt: str,
    system_prompt: str = Input(default="You are a helpful assistant."),
    max_new_tokens: int = Input(default=128, ge=1),
    min_new_tokens: int = Input(default=-1, ge=-1),
    temperature: float = Input(default=0.75, ge=0.01, le=5),
    top_p: float = Input(default=0.9, ge=0, le=1),
    top_k: int = Input(default=50, ge=0),
    stop_sequences: str = Input(default=None),
    seed: int = Input(default=None),
    debug: bool = Input(default=False),
    replicate_weights: str = Input(default=None),
) -> Iterator[str]:
    """A 70 billion parameter language model from Meta, fine tuned for chat completions"""
    yield from _HAIKU


def llama_3_instruct(
    prompt: str = Input(default=""),
    max_tokens: int = Input(default=512, ge=1),
    temperature: float = Input(default=0.6, ge=0, le=5),
) -> Iterator[str]:
    """An 8 billion parameter language model from Meta, fine tuned for chat completions"""
    yield from _HAIKU


SDXL = "stability-ai/sdxl"
SEED_MODELS: list[Predictor] = [
    Predictor(
        sdxl_2023,
        SDXL,
        version_id="a00d0b7dcbb9c3fbb34ba87d2d5b46c56969c84a628bf778a7fdaec30b1b99c5",
    ),
    Predictor(
        sdxl, SDXL, version_id="39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b"
    ),
    # The latest: registered last.
    Predictor(
        sdxl, SDXL, version_id="7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"
    ),
    Predictor(
        llama_2_chat,
        "meta/llama-2-70b-chat",
        version_id="02e509c789964a7ea8736978a43525956ef40397be9033abf9fd2badfe68c9e3",
    ),
    Predictor(llama_3_instruct, "meta/meta-llama-3-8b-instruct"),
]
#: Models the recordings expect to exist, created through ``POST /v1/models`` before replay.
SEED_CREATED = [
    {"owner": "mattt", "name": "empty", "visibility": "public", "hardware": "cpu"},
    {"owner": "replicate", "name": "dreambooth-sdxl", "visibility": "public", "hardware": "cpu"},
]
TRAINING_DESTINATION = "replicate/dreambooth-sdxl"

# ============================================================================================
# Shape comparison
# ============================================================================================

#: Fields the emulator may answer with ``null`` where the recording has a value.
MAY_BE_NULL = frozenset(
    {
        # depend on the moment of the recording
        "output",
        "error",
        "logs",
        "started_at",
        "completed_at",
        "next",
        "previous",
        # a real account's or model's data the emulator's models do not have
        "default_example",
        "cover_image_url",
        "github_url",
        "paper_url",
        "license_url",
        "description",
        # a model created through the API has no version until one is pushed or trained
        "latest_version",
    }
)
#: Objects whose keys are data, not part of the API's shape.
OPEN_MAPS = frozenset({"metadata"})
#: A prediction's model-specific values: compared in the answer's own prediction only, not in
#: those nested in it (a model's ``default_example``, which is another model's run).
MODEL_DATA = frozenset({"input", "output"})
#: Members of problem details (RFC 9457) an error answer may add.
PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


#: Properties whose objects the spec leaves untyped, and the schema of what they hold.
SCHEMA_OF_HOLDER = {
    "latest_version": "schemas_version_response",
    "default_example": "schemas_prediction_response",
}


def _spec_property_names() -> dict[str, frozenset[str]]:
    """The property names the OpenAPI spec's response schemas declare, by the name of the
    property holding the object (``""`` for a response's own object; an array's items count as
    held by the array's property): ``{"": {"id", "status", ...}, "urls": {"get", ...}, ...}``."""
    if REFERENCE is None:
        return {}
    spec = json.loads((REFERENCE / reference.SPEC_NAME).read_text())
    names: dict[str, set[str]] = {}
    seen: set[tuple[str, str]] = set()

    def walk(node: Any, holder: str) -> None:
        if isinstance(node, list):
            for value in node:
                walk(value, holder)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and (ref, holder) not in seen:
            seen.add((ref, holder))
            target: Any = spec
            for part in ref.removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            walk(target, holder)
        props = node.get("properties")
        if isinstance(props, dict):
            names.setdefault(holder, set()).update(props)
            for key, value in props.items():
                walk(value, key)
        for key in ("items", "allOf", "anyOf", "oneOf", "additionalProperties"):
            if key in node:
                walk(node[key], holder)

    for item in spec.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict):
                for response in op.get("responses", {}).values():
                    for media in response.get("content", {}).values():
                        walk(media.get("schema", {}), "")
    # Properties the spec types only as "object": they hold the objects of these schemas.
    components = spec.get("components", {}).get("schemas", {})
    for holder, component in SCHEMA_OF_HOLDER.items():
        walk(components.get(component, {}), holder)
    return {holder: frozenset(keys) for holder, keys in names.items()}


SPEC_NAMES = _spec_property_names()


def _declared(holder: str, key: str) -> bool:
    """Whether the spec declares ``key`` in an object held by a property named ``holder``."""
    return key in SPEC_NAMES.get(holder, ())


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not JSON: {value!r}")


def _schema_property_type(schema: dict[str, Any], prop: dict[str, Any]) -> tuple[Any, Any]:
    """(JSON type, format) of an Input property; an ``allOf: [$ref]`` enum gives its type."""
    if "type" in prop:
        return prop["type"], prop.get("format")
    for part in prop.get("allOf", []) + prop.get("anyOf", []):
        ref = part.get("$ref", "") if isinstance(part, dict) else ""
        target = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1])
        if isinstance(target, dict):
            return _schema_property_type(schema, target)
    if prop.get("enum"):
        return {str: "string", int: "integer", float: "number"}.get(type(prop["enum"][0])), None
    return None, None


def schema_diffs(rec: Any, got: Any, path: str, same_version: bool) -> list[str]:
    """See the module docstring: ``openapi_schema`` compared by meaning."""
    if rec is None:
        return []
    if not isinstance(got, dict):
        return [f"{path}: recorded an object, got {json_type(got)}"]
    schemas = got.get("components", {}).get("schemas", {})
    missing = [n for n in ("Input", "Output") if not isinstance(schemas.get(n), dict)]
    if missing:
        return [f"{path}.components.schemas: no {', '.join(missing)}"]
    if not same_version:
        return []
    diffs: list[str] = []
    rec_schemas = rec["components"]["schemas"]
    rec_props = rec_schemas["Input"].get("properties", {})
    got_props = schemas["Input"].get("properties", {})
    missing = sorted(set(rec_props) - set(got_props))
    if missing:
        diffs.append(f"{path} Input: no properties {missing}")
    for name in sorted(set(rec_props) & set(got_props)):
        want = _schema_property_type(rec, rec_props[name])
        have = _schema_property_type(got, got_props[name])
        if want != have:
            diffs.append(f"{path} Input.{name}: recorded (type, format) {want}, got {have}")
    rec_out, got_out = rec_schemas["Output"], schemas["Output"]
    for key in ("type", "x-cog-array-type", "x-cog-array-display"):
        if rec_out.get(key) != got_out.get(key):
            diffs.append(
                f"{path} Output.{key}: recorded {rec_out.get(key)!r}, got {got_out.get(key)!r}"
            )
    rec_items, got_items = rec_out.get("items") or {}, got_out.get("items") or {}
    for key in ("type", "format"):
        if rec_items.get(key) != got_items.get(key):
            diffs.append(
                f"{path} Output.items.{key}: recorded {rec_items.get(key)!r}, "
                f"got {got_items.get(key)!r}"
            )
    return diffs


def shape_diffs(rec: Any, got: Any, path: str = "$", name: str = "") -> list[str]:
    """How ``got`` differs in shape from ``rec`` (the rules are in the module docstring)."""
    rt, gt = json_type(rec), json_type(got)
    if rt == "null":
        return []
    if gt == "null":
        return [] if name in MAY_BE_NULL else [f"{path}: recorded {rt}, got null"]
    if rt != gt:
        return [f"{path}: recorded {rt}, got {gt}"]
    if rt == "array":
        return _array_diffs(rec, got, path, name)
    if rt != "object":
        return []
    open_map = name in OPEN_MAPS
    exact = path == "$.input"  # the input the request sent, echoed
    diffs: list[str] = []
    for key in rec:
        if key not in got and (exact or (not open_map and _declared(name, key))):
            diffs.append(f"{path}: no {key!r}")
    for key in got:
        if key not in rec and (
            exact or (not open_map and not _declared(name, key) and key not in PROBLEM_MEMBERS)
        ):
            diffs.append(f"{path}: {key!r} is not in the recording nor in the spec")
    same_version = "openapi_schema" in rec and rec.get("id") == got.get("id")
    for key in rec:
        if key not in got:
            continue
        sub = f"{path}.{key}"
        if key == "openapi_schema":
            diffs.extend(schema_diffs(rec[key], got[key], sub, same_version))
        elif key in MODEL_DATA and path != "$":
            continue  # another model's input or output
        else:
            diffs.extend(shape_diffs(rec[key], got[key], sub, key))
    return diffs


def _array_diffs(rec: list[Any], got: list[Any], path: str, name: str) -> list[str]:
    if not rec or not got:
        return []
    candidates = rec[:25]
    for index, item in enumerate(got):
        best: list[str] | None = None
        for option in candidates:
            diffs = shape_diffs(option, item, f"{path}[{index}]", name)
            if best is None or len(diffs) < len(best):
                best = diffs
            if not diffs:
                break
        if best:
            return best  # the first item that matches no recorded item
    return []


# ============================================================================================
# Replay
# ============================================================================================

_ID_ROUTES = re.compile(r"^/v1/(predictions|trainings|files)/([^/]+)(/cancel)?$")


class Replayer:
    """One cassette against one emulator: ids mapped, missing objects created first."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.ids: dict[str, str] = {}
        #: (recorded id, emulator id) of objects created for requests naming unknown ids.
        self.created_first: list[tuple[str, str]] = []
        #: How many recorded requests were sent.
        self.sent = 0

    def send(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        token: str | None = TOKEN,
    ) -> EmuResponse:
        all_headers = {"content-type": "application/json"} if body else {}
        all_headers.update(headers or {})
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        if body:
            all_headers["content-length"] = str(len(body))
        self.emu.wait_idle()
        req = EmuRequest.from_target(method, target, all_headers.items(), body, ORIGIN)
        return self.emu.handle(req)

    def seed(self) -> None:
        for body in SEED_CREATED:
            resp = self.send("POST", "/v1/models", json.dumps(body).encode())
            assert resp.status == 201, (body, resp.status, _body(resp))

    def _substitute(self, text: str) -> str:
        for recorded, ours in self.ids.items():
            text = text.replace(recorded, ours)
        return text

    def _create_like(self, ex: cassettes.Exchange, kind: str, recorded_id: str) -> None:
        """Create the prediction or training an exchange names but its cassette never made,
        like the recorded one (same version and input)."""
        doc = ex.json()
        assert isinstance(doc, dict) and doc.get("id") == recorded_id, ex.id
        payload: dict[str, Any] = {"input": doc["input"]}
        if kind == "predictions":
            payload["version"] = doc["version"]
            target = "/v1/predictions"
        elif kind == "trainings":
            payload["destination"] = TRAINING_DESTINATION
            target = f"/v1/models/{doc['model']}/versions/{doc['version']}/trainings"
        else:
            raise AssertionError(f"{ex.id}: cannot create a {kind} like {recorded_id}")
        resp = self.send("POST", target, json.dumps(payload).encode())
        assert resp.status == 201, (ex.id, target, resp.status, _body(resp))
        ours = _body(resp)["id"]
        self.ids[recorded_id] = ours
        self.created_first.append((recorded_id, ours))

    def replay(self, ex: cassettes.Exchange) -> EmuResponse:
        match = _ID_ROUTES.match(ex.path)
        if match and match.group(2) not in self.ids:
            self._create_like(ex, match.group(1), match.group(2))
        target = self._substitute(ex.path)
        query = [(k, v) for k, v in ex.query]
        if query:
            target += "?" + "&".join(f"{k}={v}" for k, v in query)
        headers = {
            name: value
            for name in ("content-type", "prefer", "cancel-after", "accept")
            if (value := ex.request_header(name)) is not None
        }
        # The recording's token was invalid (its header was filtered out): the emulator accepts
        # TOKEN only, so another one is as invalid.
        token = "r8_NotAValidToken" if ex.status == 401 else TOKEN
        body = self._substitute(ex.request_body.decode("utf-8")).encode("utf-8")
        resp = self.send(ex.method, target, body, headers, token=token)
        self.sent += 1
        if ex.method == "POST" and ex.status == 201 and resp.status == 201 and ex.is_json:
            recorded, ours = ex.json().get("id"), _body(resp).get("id")
            if isinstance(recorded, str) and isinstance(ours, str):
                self.ids[recorded] = ours
        return resp


def _body(resp: EmuResponse) -> Any:
    assert isinstance(resp.body, bytes), "a streamed body where JSON was expected"
    return json.loads(resp.body) if resp.body else None


def _media_type(resp: EmuResponse) -> str:
    return (resp.header("content-type") or "").split(";", 1)[0].strip().lower()


def answer_diffs(ex: cassettes.Exchange, resp: EmuResponse) -> list[str]:
    """How the emulator's answer differs from the recorded one: status, media type, shape."""
    if resp.status != ex.status:
        detail = resp.body[:300] if isinstance(resp.body, bytes) else b"<stream>"
        return [f"status: recorded {ex.status}, got {resp.status} ({detail!r})"]
    if not ex.response_body:
        return [] if not resp.body else [f"recorded no body, got {resp.body[:100]!r}"]  # type: ignore[index]
    if not ex.is_json:
        return [f"recorded {ex.content_type}: not a JSON answer (should be in NOT_REPLAYABLE)"]
    got_type = _media_type(resp)
    if got_type != ex.content_type:
        return [f"content-type: recorded {ex.content_type}, got {got_type}"]
    return shape_diffs(ex.json(), _body(resp))


def replay_cassette(name: str) -> tuple[list[str], Replayer]:
    """Replay one cassette; every difference, labelled with its exchange."""
    problems: list[str] = []
    with Emulator(models=SEED_MODELS, entry_points=False, tokens=[TOKEN]) as emu:
        replayer = Replayer(emu)
        replayer.seed()
        for ex in EXCHANGES:
            if ex.cassette != name or ex.id in _SKIPPED:
                continue
            resp = replayer.replay(ex)
            for diff in answer_diffs(ex, resp):
                problems.append(f"{ex.id} {ex.method} {ex.path}: {diff}")
    return problems, replayer


# ============================================================================================
# Tests
# ============================================================================================


@pytest.mark.reference
def test_not_replayable_is_short_and_real() -> None:
    ids = {ex.id for ex in EXCHANGES}
    assert len(NOT_REPLAYABLE) <= 3
    for ex_id, why in NOT_REPLAYABLE:
        assert ex_id in ids, f"{ex_id} is not a recorded exchange"
        assert why


@pytest.mark.reference
@pytest.mark.parametrize("name", CASSETTES)
def test_cassette_replays_against_the_emulator(name: str) -> None:
    problems, replayer = replay_cassette(name)
    recorded = [ex for ex in EXCHANGES if ex.cassette == name and ex.id not in _SKIPPED]
    assert replayer.sent == len(recorded)  # every exchange not listed is sent
    assert not problems, "\n".join(problems)


@pytest.mark.reference
def test_ids_are_mapped_and_unknown_ones_created_first() -> None:
    """The id mapping does what the docstring says: a GET of a prediction the cassette never
    created is answered for one created like it; a cancel uses the id the create answered."""
    _, replayer = replay_cassette("predictions-get.yaml")
    assert [recorded for recorded, _ in replayer.created_first] == ["vgcm4plb7tgzlyznry5d5jkgvu"]
    _, replayer = replay_cassette("predictions-cancel.yaml")
    assert replayer.created_first == []
    assert "hdwst0bb05rgp0cf0p29mzk2am" in replayer.ids


@pytest.mark.reference
def test_invalid_token_is_refused_as_recorded() -> None:
    (ex,) = [ex for ex in EXCHANGES if ex.cassette == "run__invalid-token.yaml"]
    with Emulator(models=SEED_MODELS, entry_points=False, tokens=[TOKEN]) as emu:
        resp = Replayer(emu).replay(ex)
    assert resp.status == 401
    assert _body(resp)["detail"] == ex.json()["detail"]


def test_shape_rules() -> None:
    """The comparison catches what it should and lets through what the docstring allows."""
    rec = {"id": "a", "status": "starting", "output": None, "urls": {"get": "u"}, "n": 1}
    assert shape_diffs(rec, {**rec, "output": ["x"], "n": 2.5}) == []
    assert shape_diffs(rec, {**rec, "status": None}) == ["$.status: recorded string, got null"]
    assert shape_diffs(rec, {**rec, "n": "1"}) == ["$.n: recorded number, got string"]
    missing = {k: v for k, v in rec.items() if k != "urls"}
    if _declared("", "urls"):
        assert shape_diffs(rec, missing) == ["$: no 'urls'"]
    assert shape_diffs(rec, {**rec, "surprise": 1}) == [
        "$: 'surprise' is not in the recording nor in the spec"
    ]
    assert shape_diffs({"metadata": {"a": 1}}, {"metadata": {"b": "x"}}) == []
    assert shape_diffs({"xs": [{"a": 1}]}, {"xs": [{"a": 1}, {"a": True}]}) == [
        "$.xs[1].a: recorded number, got boolean"
    ]
    assert shape_diffs({"error": "boom"}, {"error": None}) == []
    assert shape_diffs({"input": {"width": 1}}, {"input": {}}) == ["$.input: no 'width'"]
    nested = {"default_example": {"input": {"a": 1}, "output": "x"}}
    assert shape_diffs(nested, {"default_example": {"input": {}, "output": ["y"]}}) == []
