"""The catalog on its own: models from a registry and from the API, versions, deployments,
collections and hardware, in the API's shapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from replicate_emulator.catalog import HARDWARE, Catalog, Version, iso_time
from replicate_emulator.predictors import Predictor
from replicate_emulator.registry import Registry
from replicate_emulator.state import MemoryState, open_state
from replicate_emulator.wire import HTTPError

MODEL_KEYS = {
    "url",
    "owner",
    "name",
    "description",
    "visibility",
    "github_url",
    "paper_url",
    "license_url",
    "run_count",
    "cover_image_url",
    "default_example",
    "latest_version",
}


def greet(text: str = "world") -> str:
    """Says hello to someone."""
    return f"hello {text}"


def tokens(prompt: str) -> Iterator[str]:
    """Streams a prompt back, word by word."""
    yield from prompt.split()


def picture(width: int = 8) -> Path:
    """Draws a tiny picture."""
    raise NotImplementedError


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def registry() -> Registry:
    return Registry(
        [
            Predictor(greet, "acme/greet"),
            Predictor(tokens, "acme/tokens"),
            Predictor(picture, "pics/picture"),
        ]
    )


@pytest.fixture
def catalog(registry: Registry) -> Catalog:
    return Catalog(MemoryState(), registry, clock=Clock())


def status_of(exc: pytest.ExceptionInfo[HTTPError]) -> int:
    return exc.value.status


def create_acme_model(catalog: Catalog, name: str = "mine", **extra: object) -> dict[str, object]:
    body = {"owner": "acme", "name": name, "visibility": "private", "hardware": "cpu", **extra}
    return catalog.create_model(body)


# -- models and versions --------------------------------------------------------------------


def test_registry_model_as_the_api_shows_it(catalog: Catalog, registry: Registry) -> None:
    model = catalog.model("acme", "greet")
    assert set(model) >= MODEL_KEYS
    assert model["url"] == "https://replicate.com/acme/greet"
    assert (model["owner"], model["name"], model["visibility"]) == ("acme", "greet", "public")
    assert model["description"] == "Says hello to someone."
    assert model["run_count"] == 0 and model["default_example"] is None
    predictor = registry.get("acme/greet")
    assert predictor is not None
    latest = model["latest_version"]
    assert set(latest) == {"id", "created_at", "cog_version", "openapi_schema"}
    assert latest["id"] == predictor.version_id
    assert latest["openapi_schema"] == predictor.openapi_schema
    assert latest["cog_version"] == predictor.cog_version
    assert latest["created_at"].endswith("Z")


def test_unknown_model_is_404(catalog: Catalog) -> None:
    for call in (
        lambda: catalog.model("acme", "nope"),
        lambda: catalog.versions("acme", "nope"),
        lambda: catalog.resolve_model("acme", "nope"),
        lambda: catalog.readme("acme", "nope"),
        lambda: catalog.update_model("acme", "nope", {"description": "x"}),
        lambda: catalog.delete_model("acme", "nope"),
    ):
        with pytest.raises(HTTPError) as exc:
            call()
        assert status_of(exc) == 404


def test_versions_lookup(catalog: Catalog, registry: Registry) -> None:
    predictor = registry.get("acme/tokens")
    assert predictor is not None
    version = catalog.version(predictor.version_id)
    assert isinstance(version, Version)
    assert version.predictor is predictor and version.ref == "acme/tokens"
    assert (version.owner, version.name) == ("acme", "tokens")
    assert catalog.version("0" * 64) is None
    assert catalog.resolve_model("acme", "tokens") == version
    assert catalog.model_version("acme", "tokens", predictor.version_id) == version
    with pytest.raises(HTTPError) as exc:
        catalog.model_version("acme", "greet", predictor.version_id)
    assert status_of(exc) == 404


def test_a_second_registered_version_becomes_the_latest(registry: Registry) -> None:
    def greet_loudly(text: str = "world", shout: bool = False) -> str:
        return text

    first = registry.get("acme/greet")
    second = registry.add(Predictor(greet_loudly, "acme/greet"))
    catalog = Catalog(MemoryState(), registry)
    assert first is not None and first.version_id != second.version_id
    assert [v.id for v in catalog.versions("acme", "greet")] == [
        second.version_id,
        first.version_id,
    ]
    assert catalog.resolve_model("acme", "greet").predictor is second


def test_create_model_shape_like_the_cassette(catalog: Catalog) -> None:
    model = create_acme_model(catalog, description="An example model")
    assert set(model) >= MODEL_KEYS
    assert model["url"] == "https://replicate.com/acme/mine"
    assert model["visibility"] == "private" and model["description"] == "An example model"
    assert model["latest_version"] is None and model["run_count"] == 0
    assert model["github_url"] is None and model["cover_image_url"] is None
    assert catalog.model("acme", "mine") == model
    assert catalog.versions("acme", "mine") == []
    with pytest.raises(HTTPError) as exc:
        catalog.resolve_model("acme", "mine")
    assert status_of(exc) == 422


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"owner": "acme", "name": "x", "visibility": "public"}, 422),
        ({"owner": "acme", "name": "Bad Name", "visibility": "public", "hardware": "cpu"}, 422),
        ({"owner": "acme", "name": "x", "visibility": "secret", "hardware": "cpu"}, 422),
        ({"owner": "acme", "name": "x", "visibility": "public", "hardware": "tpu"}, 422),
        (
            {
                "owner": "acme",
                "name": "x",
                "visibility": "public",
                "hardware": "cpu",
                "paper_url": 3,
            },
            422,
        ),
        (["not", "an", "object"], 400),
        ({"owner": "acme", "name": "greet", "visibility": "public", "hardware": "cpu"}, 409),
    ],
)
def test_create_model_refusals(catalog: Catalog, body: object, status: int) -> None:
    with pytest.raises(HTTPError) as exc:
        catalog.create_model(body)
    assert status_of(exc) == status


def test_missing_fields_are_named(catalog: Catalog) -> None:
    with pytest.raises(HTTPError) as exc:
        catalog.create_model({"owner": "acme"})
    for field in ("name", "visibility", "hardware"):
        assert f"- {field}:" in exc.value.detail


def test_add_version_makes_the_model_runnable(catalog: Catalog, registry: Registry) -> None:
    create_acme_model(catalog)
    base = registry.get("acme/greet")
    assert base is not None
    version = catalog.add_version("acme", "mine", base)
    assert version.ref == "acme/mine" and version.predictor is base
    assert len(version.id) == 64 and version.id != base.version_id
    assert catalog.resolve_model("acme", "mine") == version
    assert catalog.version(version.id) == version
    model = catalog.model("acme", "mine")
    assert model["latest_version"]["id"] == version.id
    assert model["latest_version"]["openapi_schema"] == base.openapi_schema
    second = catalog.add_version("acme", "mine", base)
    assert second.id != version.id
    assert [v.id for v in catalog.versions("acme", "mine")] == [second.id, version.id]
    with pytest.raises(HTTPError) as exc:
        catalog.add_version("acme", "missing", base)
    assert status_of(exc) == 404


def test_trained_version_of_a_registry_model_is_its_latest(
    catalog: Catalog, registry: Registry
) -> None:
    base = registry.get("acme/greet")
    assert base is not None
    trained = catalog.add_version("acme", "greet", base)
    assert trained.id != base.version_id
    versions = catalog.versions("acme", "greet")
    assert [v.id for v in versions] == [trained.id, base.version_id]


def test_trained_versions_survive_a_restart(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "state.db"
    state = open_state(path)
    catalog = Catalog(state, registry)
    create_acme_model(catalog, description="kept")
    base = registry.get("acme/tokens")
    assert base is not None
    version = catalog.add_version("acme", "mine", base)
    state.close()

    state = open_state(path)
    again = Catalog(state, registry)
    assert again.model("acme", "mine")["description"] == "kept"
    found = again.resolve_model("acme", "mine")
    assert found.id == version.id and found.predictor is base
    assert again.version(version.id) == found
    state.close()
    # Without the code that runs it, the version is gone.
    state = open_state(path)
    assert Catalog(state, Registry()).version(version.id) is None
    state.close()


def test_update_model_overlays_registry_metadata(catalog: Catalog) -> None:
    model = catalog.update_model(
        "acme", "greet", {"description": "New words", "github_url": "https://github.com/acme/x"}
    )
    assert model["description"] == "New words"
    assert model["github_url"] == "https://github.com/acme/x"
    again = catalog.model("acme", "greet")
    assert again == model and again["latest_version"] is not None
    catalog.update_model("acme", "greet", {"readme": "# Greet\n"})
    assert catalog.readme("acme", "greet") == "# Greet\n"
    with pytest.raises(HTTPError) as exc:
        catalog.update_model("acme", "greet", {"visibility": "private"})
    assert status_of(exc) == 422
    with pytest.raises(HTTPError) as exc:
        catalog.update_model("acme", "greet", {"description": 5})
    assert status_of(exc) == 422


def test_update_created_model(catalog: Catalog) -> None:
    create_acme_model(catalog)
    model = catalog.update_model("acme", "mine", {"paper_url": "https://arxiv.org/abs/1"})
    assert model["paper_url"] == "https://arxiv.org/abs/1"
    assert model["visibility"] == "private"


def test_readme(catalog: Catalog) -> None:
    assert catalog.readme("acme", "greet") == "# acme/greet\n\nSays hello to someone.\n"
    create_acme_model(catalog)
    with pytest.raises(HTTPError) as exc:
        catalog.readme("acme", "mine")
    assert status_of(exc) == 404


def test_delete_model_rules(catalog: Catalog, registry: Registry) -> None:
    create_acme_model(catalog)
    catalog.delete_model("acme", "mine")
    assert not catalog.has_model("acme", "mine")

    with pytest.raises(HTTPError) as exc:
        catalog.delete_model("acme", "greet")
    assert status_of(exc) == 403

    create_acme_model(catalog, "open", visibility="public")
    with pytest.raises(HTTPError) as exc:
        catalog.delete_model("acme", "open")
    assert status_of(exc) == 403

    create_acme_model(catalog, "busy")
    base = registry.get("acme/greet")
    version = catalog.add_version("acme", "busy", base)
    with pytest.raises(HTTPError) as exc:
        catalog.delete_model("acme", "busy")
    assert status_of(exc) == 409
    catalog.delete_version("acme", "busy", version.id)
    catalog.delete_model("acme", "busy")


def test_delete_version_rules(catalog: Catalog, registry: Registry) -> None:
    base = registry.get("acme/greet")
    assert base is not None
    with pytest.raises(HTTPError) as exc:
        catalog.delete_version("acme", "greet", base.version_id)
    assert status_of(exc) == 403
    create_acme_model(catalog)
    version = catalog.add_version("acme", "mine", base)
    catalog.create_deployment(
        {
            "name": "dep",
            "model": "acme/mine",
            "version": version.id,
            "hardware": "cpu",
            "min_instances": 0,
            "max_instances": 1,
        }
    )
    with pytest.raises(HTTPError) as exc:
        catalog.delete_version("acme", "mine", version.id)
    assert status_of(exc) == 409
    catalog.delete_deployment("emulator", "dep")
    catalog.delete_version("acme", "mine", version.id)
    assert catalog.version(version.id) is None
    with pytest.raises(HTTPError) as exc:
        catalog.delete_version("acme", "mine", version.id)
    assert status_of(exc) == 404


def test_models_list_and_sorting(catalog: Catalog) -> None:
    refs = [f"{m['owner']}/{m['name']}" for m in catalog.models()]
    assert sorted(refs) == ["acme/greet", "acme/tokens", "pics/picture"]
    create_acme_model(catalog, "new1")
    create_acme_model(catalog, "new2")
    by_created = [m["name"] for m in catalog.models("model_created_at", "desc")]
    assert by_created[:2] == ["new2", "new1"]
    by_created_asc = [m["name"] for m in catalog.models("model_created_at", "asc")]
    assert by_created_asc[-2:] == ["new1", "new2"]
    # Models without versions sort last by latest version, newest version first.
    by_version = [m["name"] for m in catalog.models()]
    assert set(by_version[-2:]) == {"new1", "new2"}
    for args in (("popularity", "desc"), ("model_created_at", "up")):
        with pytest.raises(HTTPError) as exc:
            catalog.models(*args)
        assert status_of(exc) == 400


def test_search_scores(catalog: Catalog) -> None:
    found = catalog.search("greet")
    assert [m["name"] for m, _ in found] == ["greet"]
    assert found[0][1] == 1.0
    by_description = catalog.search("word")  # "word by word" in the tokens docstring
    assert [m["name"] for m, _ in by_description] == ["tokens"]
    assert 0 < by_description[0][1] < 1.0
    both = catalog.search("tokens picture")
    assert {m["name"] for m, _ in both} == {"tokens", "picture"}
    assert catalog.search("zebra") == [] and catalog.search("  ") == []


# -- deployments ----------------------------------------------------------------------------


def deployment_body(registry: Registry, **extra: object) -> dict[str, object]:
    predictor = registry.get("acme/greet")
    assert predictor is not None
    body: dict[str, object] = {
        "name": "my-dep",
        "model": "acme/greet",
        "version": predictor.version_id,
        "hardware": "gpu-t4",
        "min_instances": 1,
        "max_instances": 5,
    }
    body.update(extra)
    return body


def test_create_and_get_deployment(catalog: Catalog, registry: Registry) -> None:
    doc = catalog.create_deployment(deployment_body(registry))
    assert doc["owner"] == "emulator" and doc["name"] == "my-dep"
    release = doc["current_release"]
    assert release["number"] == 1 and release["model"] == "acme/greet"
    assert release["version"] == deployment_body(registry)["version"]
    assert release["created_by"] == {
        "type": "user",
        "username": "emulator",
        "name": "Replicate Emulator",
    }
    assert release["configuration"] == {
        "hardware": "gpu-t4",
        "min_instances": 1,
        "max_instances": 5,
    }
    assert release["created_at"].endswith("Z")
    assert catalog.deployment("emulator", "my-dep") == doc
    assert catalog.deployments() == [doc]
    version = catalog.resolve_deployment("emulator", "my-dep")
    assert version.predictor is registry.get("acme/greet")


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"hardware": "tpu"}, 422),
        ({"min_instances": 6}, 422),
        ({"max_instances": 21}, 422),
        ({"min_instances": 3, "max_instances": 2}, 422),
        ({"min_instances": "1"}, 422),
        ({"version": "f" * 64}, 422),
        ({"version": "short"}, 422),
        ({"model": "acme/nope"}, 404),
        ({"model": "no-slash"}, 422),
        ({"name": None}, 422),
        ({"name": "Bad Name"}, 422),
    ],
)
def test_create_deployment_refusals(
    catalog: Catalog, registry: Registry, extra: dict[str, object], status: int
) -> None:
    with pytest.raises(HTTPError) as exc:
        catalog.create_deployment(deployment_body(registry, **extra))
    assert status_of(exc) == status


def test_version_of_another_model_is_refused(catalog: Catalog, registry: Registry) -> None:
    other = registry.get("acme/tokens")
    assert other is not None
    with pytest.raises(HTTPError) as exc:
        catalog.create_deployment(deployment_body(registry, version=other.version_id))
    assert status_of(exc) == 422


def test_duplicate_deployment_is_409(catalog: Catalog, registry: Registry) -> None:
    catalog.create_deployment(deployment_body(registry))
    with pytest.raises(HTTPError) as exc:
        catalog.create_deployment(deployment_body(registry))
    assert status_of(exc) == 409


def test_update_deployment_makes_a_release(catalog: Catalog, registry: Registry) -> None:
    first = catalog.create_deployment(deployment_body(registry))
    updated = catalog.update_deployment(
        "emulator", "my-dep", {"min_instances": 3, "max_instances": 10}
    )
    release = updated["current_release"]
    assert release["number"] == 2
    assert release["configuration"] == {
        "hardware": "gpu-t4",
        "min_instances": 3,
        "max_instances": 10,
    }
    assert release["created_at"] > first["current_release"]["created_at"]
    assert catalog.deployment("emulator", "my-dep") == updated
    # Nothing changed: the same release.
    assert catalog.update_deployment("emulator", "my-dep", {"min_instances": 3}) == updated
    # A new version of the same model.
    base = registry.get("acme/greet")
    trained = catalog.add_version("acme", "greet", base)
    third = catalog.update_deployment("emulator", "my-dep", {"version": trained.id})
    assert third["current_release"]["number"] == 3
    assert catalog.resolve_deployment("emulator", "my-dep").id == trained.id
    for body, status in (
        ({"hardware": "tpu"}, 422),
        ({"min_instances": 11}, 422),
        ({"model": "acme/tokens"}, 422),
        ({"version": "0" * 64}, 422),
    ):
        with pytest.raises(HTTPError) as exc:
            catalog.update_deployment("emulator", "my-dep", body)
        assert status_of(exc) == status
    assert catalog.deployment("emulator", "my-dep")["current_release"]["number"] == 3


def test_delete_deployment(catalog: Catalog, registry: Registry) -> None:
    catalog.create_deployment(deployment_body(registry))
    catalog.delete_deployment("emulator", "my-dep")
    for call in (
        lambda: catalog.deployment("emulator", "my-dep"),
        lambda: catalog.resolve_deployment("emulator", "my-dep"),
        lambda: catalog.delete_deployment("emulator", "my-dep"),
        lambda: catalog.update_deployment("emulator", "my-dep", {"min_instances": 0}),
    ):
        with pytest.raises(HTTPError) as exc:
            call()
        assert status_of(exc) == 404
    assert catalog.deployments() == []


def test_deployments_newest_first(catalog: Catalog, registry: Registry) -> None:
    catalog.create_deployment(deployment_body(registry, name="one"))
    catalog.create_deployment(deployment_body(registry, name="two"))
    assert [d["name"] for d in catalog.deployments()] == ["two", "one"]


# -- collections and hardware ---------------------------------------------------------------


def test_builtin_collections(catalog: Catalog) -> None:
    listed = catalog.collections()
    assert all(set(c) == {"name", "slug", "description"} for c in listed)
    slugs = [c["slug"] for c in listed]
    assert {"emulator-models", "streaming-language-models", "text-to-image"} <= set(slugs)
    everything = catalog.collection("emulator-models")
    assert {m["name"] for m in everything["models"]} == {"greet", "tokens", "picture"}
    assert all(set(m) >= MODEL_KEYS for m in everything["models"])
    streaming = catalog.collection("streaming-language-models")
    assert [m["name"] for m in streaming["models"]] == ["tokens"]
    images = catalog.collection("text-to-image")
    assert [m["name"] for m in images["models"]] == ["picture"]
    with pytest.raises(HTTPError) as exc:
        catalog.collection("nope")
    assert status_of(exc) == 404


def test_own_collections(catalog: Catalog) -> None:
    catalog.add_collection("favourites", "Favourites", "The best", ["acme/greet", "acme/gone"])
    found = catalog.collection("favourites")
    assert found["name"] == "Favourites" and found["description"] == "The best"
    assert [m["name"] for m in found["models"]] == ["greet"]  # unknown refs are left out
    catalog.add_collection("text-to-image", "Mine", "Replaced", [])
    assert catalog.collection("text-to-image")["models"] == []
    assert [c["slug"] for c in catalog.collections()].count("text-to-image") == 1


def test_hardware_like_the_cassette(catalog: Catalog) -> None:
    listed = catalog.hardware()
    for entry in (
        {"sku": "cpu", "name": "CPU"},
        {"sku": "gpu-t4", "name": "Nvidia T4 GPU"},
        {"sku": "gpu-a40-small", "name": "Nvidia A40 GPU"},
        {"sku": "gpu-a40-large", "name": "Nvidia A40 (Large) GPU"},
    ):
        assert entry in listed
    listed.clear()
    assert catalog.hardware() == HARDWARE


def test_iso_time() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_time(1721263000.5) == "2024-07-18T00:36:40.500000Z"
