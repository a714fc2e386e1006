"""Version schemas: dereferencing, the Input/Output schemas, and checking inputs against them."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from replicate._schema import (
    InputValidationError,
    dereference,
    input_schema,
    output_schema,
    validate_input,
)

try:
    from tests import cassettes, reference
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    import cassettes
    import reference


# --- the recorded Cog schemas -------------------------------------------------------------------


def _recorded_versions() -> dict[str, dict[str, Any]]:
    versions: dict[str, dict[str, Any]] = {}
    for ex in cassettes.load_all():
        if ex.method != "GET" or "/versions/" not in ex.path or not ex.is_json:
            continue
        body = ex.json()
        if isinstance(body, dict) and body.get("openapi_schema"):
            versions.setdefault(body["id"], body)
    return versions


VERSIONS = _recorded_versions()
# Without the reference data the tests that use these are skipped (marked ``reference``).
assert VERSIONS or not reference.available(), "no recorded Cog schemas in the reference data"
SDXL = VERSIONS.get("39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b", {})
LLAMA = VERSIONS.get("02e509c789964a7ea8736978a43525956ef40397be9033abf9fd2badfe68c9e3", {})


def _has_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_has_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_ref(v) for v in node)
    return False


@pytest.mark.reference
def test_the_recordings_hold_several_versions() -> None:
    assert len(VERSIONS) >= 4
    assert {v["cog_version"] for v in VERSIONS.values()} >= {"0.8.5", "0.8.6", "0.8.1"}


@pytest.mark.reference
@pytest.mark.parametrize("version_id", sorted(VERSIONS))
def test_dereference_a_real_cog_schema(version_id: str) -> None:
    version = VERSIONS[version_id]
    original = copy.deepcopy(version["openapi_schema"])
    resolved = dereference(version["openapi_schema"], cog_version=version["cog_version"])
    assert version["openapi_schema"] == original  # not modified
    assert not _has_ref(resolved)
    json.dumps(resolved)  # a finite tree
    schemas = resolved["components"]["schemas"]
    # PredictionRequest.input pointed at Input: now it is Input.
    assert schemas["PredictionRequest"]["properties"]["input"] == schemas["Input"]


@pytest.mark.reference
def test_real_enum_resolves_through_allof() -> None:
    schema = input_schema(SDXL["openapi_schema"])
    assert schema is not None
    scheduler = schema["properties"]["scheduler"]
    assert scheduler["allOf"][0]["enum"][:2] == ["DDIM", "DPMSolverMultistep"]
    assert scheduler["default"] == "K_EULER"
    assert "K_EULER" in scheduler["allOf"][0]["enum"]


@pytest.mark.reference
def test_input_and_output_schema() -> None:
    inp = input_schema(LLAMA["openapi_schema"])
    out = output_schema(LLAMA["openapi_schema"])
    assert inp is not None and inp["required"] == ["prompt"]
    assert out == {
        "type": "array",
        "items": {"type": "string"},
        "title": "Output",
        "x-cog-array-type": "iterator",
        "x-cog-array-display": "concatenate",
    }
    assert input_schema(None) is None
    assert input_schema({}) is None
    assert output_schema({"components": {"schemas": {}}}) is None
    assert input_schema({"openapi": "3.0.2", "paths": {}}) is None


@pytest.mark.parametrize(
    ("cog_version", "marked"),
    [("0.3.8", True), ("0.2", True), ("0.3.9", False), ("0.8.5", False), ("dev", False)],
)
def test_old_cog_array_output_is_an_iterator(cog_version: str, marked: bool) -> None:
    doc = {"components": {"schemas": {"Output": {"type": "array", "items": {"type": "string"}}}}}
    out = output_schema(doc, cog_version=cog_version)
    assert out is not None
    assert (out.get("x-cog-array-type") == "iterator") is marked
    assert "x-cog-array-type" not in doc["components"]["schemas"]["Output"]  # not modified


def test_old_cog_non_array_output_is_left_alone() -> None:
    doc = {"components": {"schemas": {"Output": {"type": "string"}}}}
    assert output_schema(doc, cog_version="0.1.0") == {"type": "string"}


# --- dereferencing hand-made schemas ------------------------------------------------------------


def test_self_cycle_is_cut_where_it_closes() -> None:
    doc = {
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "integer"},
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Node"},
                        },
                    },
                },
                "Input": {
                    "type": "object",
                    "properties": {"tree": {"$ref": "#/components/schemas/Node"}},
                },
            }
        }
    }
    resolved = dereference(doc)
    json.dumps(resolved)
    tree = resolved["components"]["schemas"]["Input"]["properties"]["tree"]
    assert tree["properties"]["value"] == {"type": "integer"}
    # One level is inlined; the reference back into Node stays a reference.
    assert tree["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}


def test_mutual_cycle_terminates() -> None:
    doc = {
        "components": {
            "schemas": {
                "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
                "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
            }
        }
    }
    resolved = dereference(doc)
    a = resolved["components"]["schemas"]["A"]
    assert a["properties"]["b"]["properties"]["a"] == {"$ref": "#/components/schemas/A"}
    b = resolved["components"]["schemas"]["B"]
    assert b["properties"]["a"]["properties"]["b"] == {"$ref": "#/components/schemas/B"}


def test_reference_to_itself_directly() -> None:
    doc = {"components": {"schemas": {"Loop": {"$ref": "#/components/schemas/Loop"}}}}
    assert dereference(doc)["components"]["schemas"]["Loop"] == {
        "$ref": "#/components/schemas/Loop"
    }


def test_siblings_of_a_ref_are_kept_and_win() -> None:
    doc = {
        "components": {
            "schemas": {
                "Color": {"type": "string", "enum": ["red", "blue"], "description": "a color"},
                "Input": {
                    "properties": {
                        "c": {"$ref": "#/components/schemas/Color", "description": "yours"}
                    }
                },
            }
        }
    }
    c = dereference(doc)["components"]["schemas"]["Input"]["properties"]["c"]
    assert c == {"type": "string", "enum": ["red", "blue"], "description": "yours"}


def test_shared_reference_gives_independent_copies() -> None:
    doc = {
        "components": {
            "schemas": {
                "E": {"enum": ["x", "y"]},
                "Input": {
                    "properties": {
                        "a": {"allOf": [{"$ref": "#/components/schemas/E"}]},
                        "b": {"allOf": [{"$ref": "#/components/schemas/E"}]},
                    }
                },
            }
        }
    }
    props = dereference(doc)["components"]["schemas"]["Input"]["properties"]
    assert props["a"] == props["b"] == {"allOf": [{"enum": ["x", "y"]}]}
    props["a"]["allOf"][0]["enum"].append("z")
    assert props["b"]["allOf"][0]["enum"] == ["x", "y"]


def test_unresolvable_and_remote_refs_are_left_alone() -> None:
    doc = {
        "components": {
            "schemas": {
                "Input": {
                    "properties": {
                        "a": {"$ref": "#/components/schemas/Missing"},
                        "b": {"$ref": "https://example.com/schema.json"},
                    }
                }
            }
        }
    }
    props = dereference(doc)["components"]["schemas"]["Input"]["properties"]
    assert props["a"] == {"$ref": "#/components/schemas/Missing"}
    assert props["b"] == {"$ref": "https://example.com/schema.json"}


def test_other_local_pointers_resolve() -> None:
    doc = {
        "definitions": {"a/b": {"type": "integer"}},
        "x": {"$ref": "#/definitions/a~1b"},
        "y": [{"type": "string"}],
        "z": {"$ref": "#/y/0"},
    }
    resolved = dereference(doc)
    assert resolved["x"] == {"type": "integer"}
    assert resolved["z"] == {"type": "string"}


def test_dereference_rejects_a_non_mapping() -> None:
    with pytest.raises(TypeError, match="openapi_schema must be a dict"):
        dereference([])  # type: ignore[arg-type]


# --- validating: the real Cog schema -----------------------------------------------------------


def _recorded_inputs() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for ex in cassettes.load_all():
        if ex.method == "POST" and ex.path == "/v1/predictions" and ex.request_body:
            body = json.loads(ex.request_body)
            if body.get("version") in VERSIONS:
                found.append((body["version"], body["input"]))
    return found


RECORDED_INPUTS = _recorded_inputs()


@pytest.mark.reference
def test_recorded_inputs_were_found() -> None:
    assert len(RECORDED_INPUTS) >= 5


@pytest.mark.reference
@pytest.mark.parametrize(("version_id", "input"), RECORDED_INPUTS)
def test_every_recorded_input_fits_its_version(version_id: str, input: dict[str, Any]) -> None:
    version = VERSIONS[version_id]
    schema = input_schema(version["openapi_schema"], cog_version=version["cog_version"])
    assert schema is not None
    validate_input(input, schema)
    validate_input(input, version["openapi_schema"])  # the whole document works too


@pytest.fixture
def sdxl() -> dict[str, Any]:
    schema = input_schema(SDXL["openapi_schema"])
    assert schema is not None
    return schema


@pytest.fixture
def llama() -> dict[str, Any]:
    schema = input_schema(LLAMA["openapi_schema"])
    assert schema is not None
    return schema


@pytest.mark.reference
def test_real_valid_input_with_files_passes(sdxl: dict[str, Any], tmp_path: Path) -> None:
    image = tmp_path / "in.png"
    image.write_bytes(b"png")

    class FileOutput:
        __url__ = "https://replicate.delivery/out.png"

    validate_input(
        {
            "prompt": "a corgi",
            "image": image,
            "mask": io.BytesIO(b"mask"),
            "num_outputs": 4,
            "scheduler": "DDIM",
            "refine": "expert_ensemble_refiner",
            "guidance_scale": 1,  # an int is a number
            "apply_watermark": False,
            "seed": None,  # None: use the default
        },
        sdxl,
    )
    validate_input({"image": b"raw bytes", "mask": FileOutput()}, sdxl)
    validate_input({"image": "data:image/png;base64,AAAA"}, sdxl)


@pytest.mark.reference
def test_missing_required_input(llama: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"^missing required input 'prompt'$"):
        validate_input({"max_new_tokens": 10}, llama)
    with pytest.raises(ValueError, match=r"^missing required input 'prompt'$"):
        validate_input({"prompt": None}, llama)


def test_all_missing_required_inputs_are_named() -> None:
    schema = {
        "type": "object",
        "required": ["a", "b", "c"],
        "properties": {"a": {"type": "string"}, "b": {}, "c": {}},
    }
    with pytest.raises(ValueError, match=r"^missing required inputs 'a', 'c'$"):
        validate_input({"b": 1}, schema)


@pytest.mark.reference
def test_unknown_input_lists_the_known_ones_in_x_order(llama: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as info:
        validate_input({"prompt": "hi", "temprature": 0.5}, llama)
    message = str(info.value)
    assert message.startswith("unknown input 'temprature' (did you mean 'temperature'?)")
    assert message.endswith(
        "this model's inputs are 'prompt', 'system_prompt', 'max_new_tokens', 'min_new_tokens', "
        "'temperature', 'top_p', 'top_k', 'stop_sequences', 'seed', 'debug', 'replicate_weights'"
    )


@pytest.mark.reference
def test_unknown_input_without_a_close_match(sdxl: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"^unknown input 'zzz'; this model's inputs are 'prompt'"):
        validate_input({"zzz": 1}, sdxl)


def test_unknown_inputs_pass_when_the_schema_allows_them() -> None:
    validate_input(
        {"x": 1}, {"type": "object", "properties": {"a": {}}, "additionalProperties": True}
    )
    validate_input({"x": 1}, {"type": "object"})  # no properties listed: nothing to compare to
    with pytest.raises(ValueError, match="must be an integer"):
        validate_input(
            {"x": "no"},
            {
                "type": "object",
                "properties": {"a": {}},
                "additionalProperties": {"type": "integer"},
            },
        )
    with pytest.raises(ValueError, match="unknown input 'x'"):
        validate_input({"x": 1}, {"properties": {"a": {}}, "additionalProperties": False})


@pytest.mark.reference
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("width", "512", "input 'width' must be an integer; got str '512'"),
        ("width", 512.5, "input 'width' must be an integer; got float 512.5"),
        ("width", True, "input 'width' must be an integer; got bool True"),
        ("guidance_scale", "7", "input 'guidance_scale' must be a number; got str '7'"),
        ("guidance_scale", False, "input 'guidance_scale' must be a number; got bool False"),
        ("prompt", 42, "input 'prompt' must be a string; got int 42"),
        ("apply_watermark", 1, "input 'apply_watermark' must be a boolean; got int 1"),
        ("apply_watermark", "yes", "input 'apply_watermark' must be a boolean; got str 'yes'"),
        (
            "image",
            7,
            "input 'image' must be a URL string (or a file, path or bytes to upload); got int 7",
        ),
    ],
)
def test_wrong_type(sdxl: dict[str, Any], name: str, value: Any, expected: str) -> None:
    with pytest.raises(InputValidationError) as info:
        validate_input({name: value}, sdxl)
    assert str(info.value) == expected
    assert info.value.errors == [expected]
    assert isinstance(info.value, ValueError)


@pytest.mark.reference
def test_integer_takes_a_whole_float(sdxl: dict[str, Any]) -> None:
    validate_input({"width": 512.0, "num_outputs": 2.0}, sdxl)


@pytest.mark.reference
def test_a_file_is_only_a_uri_string(sdxl: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^input 'prompt' must be a string; got a file$"):
        validate_input({"prompt": tmp_path / "x.txt"}, sdxl)
    with pytest.raises(ValueError, match=r"^input 'width' must be an integer; got a file$"):
        validate_input({"width": b"123"}, sdxl)


def test_array_and_object_types() -> None:
    schema = {
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "opts": {"type": "object"},
        }
    }
    validate_input({"tags": ["a", "b"], "opts": {"k": 1}}, schema)
    validate_input({"tags": ("a", "b")}, schema)  # a tuple is sent as an array
    with pytest.raises(ValueError, match=r"^input 'tags' must be an array \(list\); got str 'a'$"):
        validate_input({"tags": "a"}, schema)
    with pytest.raises(ValueError, match=r"^input 'tags\[1\]' must be a string; got int 2$"):
        validate_input({"tags": ["a", 2]}, schema)
    with pytest.raises(ValueError, match=r"^input 'opts' must be an object \(dict\); got list"):
        validate_input({"opts": [1]}, schema)


@pytest.mark.reference
def test_enum_through_allof(sdxl: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as info:
        validate_input({"scheduler": "euler"}, sdxl)
    assert str(info.value) == (
        "input 'scheduler' must be one of 'DDIM', 'DPMSolverMultistep', 'HeunDiscrete', "
        "'KarrasDPM', 'K_EULER_ANCESTRAL', 'K_EULER', 'PNDM'; got str 'euler'"
    )


def test_enum_compares_as_json() -> None:
    schema = {"properties": {"n": {"type": "integer", "enum": [1, 2, 4]}, "b": {"enum": [0, 1]}}}
    validate_input({"n": 4}, schema)
    validate_input({"n": 4.0}, schema)
    with pytest.raises(ValueError, match=r"^input 'n' must be one of 1, 2, 4; got int 3$"):
        validate_input({"n": 3}, schema)
    with pytest.raises(ValueError, match=r"^input 'b' must be one of 0, 1; got bool True$"):
        validate_input({"b": True}, schema)


@pytest.mark.reference
def test_minimum_and_maximum(sdxl: dict[str, Any], llama: dict[str, Any]) -> None:
    validate_input({"num_outputs": 1, "lora_scale": 0, "high_noise_frac": 1}, sdxl)
    with pytest.raises(ValueError, match=r"^input 'num_outputs' must be between 1 and 4; got 5$"):
        validate_input({"num_outputs": 5}, sdxl)
    with pytest.raises(ValueError, match=r"^input 'num_outputs' must be between 1 and 4; got 0$"):
        validate_input({"num_outputs": 0}, sdxl)
    with pytest.raises(
        ValueError, match=r"^input 'guidance_scale' must be between 1 and 50; got 50.5$"
    ):
        validate_input({"guidance_scale": 50.5}, sdxl)
    # Cog writes integer bounds as floats: shown as the integers they are.
    with pytest.raises(ValueError, match=r"^input 'max_new_tokens' must be >= 1; got 0$"):
        validate_input({"prompt": "p", "max_new_tokens": 0}, llama)
    with pytest.raises(
        ValueError, match=r"^input 'temperature' must be between 0.01 and 5; got 0$"
    ):
        validate_input({"prompt": "p", "temperature": 0}, llama)


def test_exclusive_bounds_in_both_spellings() -> None:
    openapi30 = {
        "properties": {
            "x": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1}
        }
    }
    validate_input({"x": 1}, openapi30)
    validate_input({"x": 0.001}, openapi30)
    with pytest.raises(ValueError, match=r"^input 'x' must be > 0 and <= 1; got 0$"):
        validate_input({"x": 0}, openapi30)
    json_schema = {"properties": {"x": {"type": "number", "exclusiveMaximum": 10}}}
    validate_input({"x": 9.99}, json_schema)
    with pytest.raises(ValueError, match=r"^input 'x' must be < 10; got 10$"):
        validate_input({"x": 10}, json_schema)
    both = {"properties": {"x": {"minimum": 5, "exclusiveMinimum": 7}}}
    with pytest.raises(ValueError, match=r"^input 'x' must be > 7; got 6$"):
        validate_input({"x": 6}, both)


def test_string_and_array_lengths() -> None:
    schema = {
        "properties": {
            "s": {"type": "string", "minLength": 2, "maxLength": 3},
            "a": {"type": "array", "maxItems": 1},
        }
    }
    validate_input({"s": "ab", "a": [1]}, schema)
    with pytest.raises(ValueError, match=r"^input 's' must have at least 2 characters; got 1$"):
        validate_input({"s": "a"}, schema)
    with pytest.raises(ValueError, match=r"^input 'a' must have at most 1 items; got 2$"):
        validate_input({"a": [1, 2]}, schema)


def test_x_order_and_unknown_keywords_are_ignored() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "x-order": 0, "x-cog-secret": True, "widget": "slider"}
        },
        "x-something": 1,
    }
    validate_input({"a": 1}, schema)


def test_open_inputs_pass_untouched() -> None:
    schema = {"properties": {"anything": {}, "described": {"description": "no type"}}}
    weird = object()
    data = {"anything": {"deep": [1, "x", None]}, "described": weird}
    before = copy.deepcopy(data["anything"])
    validate_input(data, schema)
    assert data["anything"] == before and data["described"] is weird


def test_values_only_a_plugin_can_encode_are_not_checked() -> None:
    class Custom:
        pass

    validate_input({"a": Custom()}, {"properties": {"a": {"type": "integer"}}})


def test_nullable_and_anyof() -> None:
    schema = {
        "required": ["a", "b"],
        "properties": {
            "a": {"type": "integer", "nullable": True},
            "b": {"anyOf": [{"type": "integer"}, {"type": "string", "enum": ["auto"]}]},
        },
    }
    validate_input({"a": 1, "b": 3}, schema)
    validate_input({"a": 1, "b": "auto"}, schema)
    with pytest.raises(ValueError) as info:
        validate_input({"a": 1, "b": "manual"}, schema)
    assert str(info.value) == "input 'b' must be an integer or one of 'auto'; got str 'manual'"


def test_nested_objects() -> None:
    schema = {
        "properties": {
            "box": {
                "type": "object",
                "required": ["w"],
                "properties": {"w": {"type": "integer", "minimum": 1}},
                "additionalProperties": False,
            },
            "loose": {"type": "object", "properties": {"w": {"type": "integer"}}},
        }
    }
    validate_input({"box": {"w": 2}, "loose": {"w": 1, "other": "ok"}}, schema)
    with pytest.raises(ValueError) as info:
        validate_input({"box": {"w": 0, "h": 1}}, schema)
    assert info.value.errors == [  # type: ignore[attr-defined]
        "input 'box.w' must be >= 1; got 0",
        "input 'box' has no property 'h'; its properties are 'w'",
    ]
    with pytest.raises(ValueError, match=r"^input 'box' is missing required input 'box.w'$"):
        validate_input({"box": {}}, schema)


@pytest.mark.reference
def test_every_problem_is_reported_at_once(sdxl: dict[str, Any]) -> None:
    with pytest.raises(InputValidationError) as info:
        validate_input({"width": "wide", "num_outputs": 9, "scheduler": "x", "nope": 1}, sdxl)
    errors = info.value.errors
    assert len(errors) == 4
    assert str(info.value).startswith("the input does not fit the model's schema:\n  - ")
    assert all(f"  - {e}" in str(info.value) for e in errors)


@pytest.mark.reference
def test_numpy_values_are_checked_as_the_numbers_they_become(sdxl: dict[str, Any]) -> None:
    import numpy as np  # in the test extra

    validate_input({"width": np.int64(512), "guidance_scale": np.float32(2.5)}, sdxl)
    with pytest.raises(ValueError, match=r"^input 'num_outputs' must be between 1 and 4; got 8$"):
        validate_input({"num_outputs": np.int32(8)}, sdxl)
    validate_input(
        {"v": np.array([1, 2])},
        {"properties": {"v": {"type": "array", "items": {"type": "integer"}}}},
    )


@pytest.mark.reference
def test_validation_does_not_change_the_input(sdxl: dict[str, Any]) -> None:
    image = io.BytesIO(b"abc")
    image.seek(1)
    data = {"prompt": "p", "image": image, "num_outputs": 1}
    validate_input(data, sdxl)
    assert image.tell() == 1 and data == {"prompt": "p", "image": image, "num_outputs": 1}


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="input must be a mapping"):
        validate_input([("a", 1)], {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="schema must be a dict"):
        validate_input({}, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="input names must be strings"):
        validate_input({1: "x"}, {"properties": {"a": {}}})  # type: ignore[dict-item]


def test_input_validation_error_pickles() -> None:
    import pickle

    err = InputValidationError(["a", "b"])
    copy_ = pickle.loads(pickle.dumps(err))
    assert copy_.errors == ["a", "b"] and str(copy_) == str(err)
