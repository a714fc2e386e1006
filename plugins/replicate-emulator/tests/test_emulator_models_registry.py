"""The registry of models: built-ins, ``@model``, plugins found through entry points (pluggy),
and the models an emulator is given."""

from __future__ import annotations

import importlib
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import replicate_emulator
from replicate_emulator import builtin_models
from replicate_emulator.predictors import Input, Predictor
from replicate_emulator.registry import (
    PREDICTOR_ATTR,
    Registry,
    entry_point_models,
    model,
    registered_models,
    unregister,
)

from replicate.exceptions import PluginError

BUILTIN_REFS = [
    "replicate/hello-world",
    "replicate/stream-tokens",
    "replicate/png-image",
    "replicate/slow-progress",
]


def test_default_registry_has_the_builtins() -> None:
    registry = Registry.default(entry_points=False)
    assert registry.refs()[:4] == BUILTIN_REFS
    hello = registry.get("replicate/hello-world")
    assert hello is builtin_models.HELLO_WORLD
    assert registry.by_version(hello.version_id) is hello
    assert registry.by_version("0" * 64) is None
    assert registry.get("acme/nothing") is None
    assert "replicate/png-image" in registry and len(registry) >= 4


def test_model_decorator_registers_globally_and_returns_the_function() -> None:
    @model("acme/echo-test", description="Says it back")
    def echo(text: str = Input(default="hi")) -> str:
        return text

    try:
        assert echo("x") == "x"  # still a plain function
        predictor = getattr(echo, PREDICTOR_ATTR)
        assert isinstance(predictor, Predictor) and predictor.description == "Says it back"
        assert predictor in registered_models()
        registry = Registry.default(entry_points=False)
        assert registry.get("acme/echo-test") is predictor
        # the lazy top-level names are the same objects
        assert replicate_emulator.model is model and replicate_emulator.Input is Input
    finally:
        assert unregister(echo) == 1
    assert Registry.default(entry_points=False).get("acme/echo-test") is None


def test_extra_models_come_last_and_add_versions() -> None:
    def hello_world(text: str = "there", loud: bool = False) -> str:
        return ("HELLO " if loud else "hello ") + text

    def shout(text: str) -> str:
        return text.upper()

    registry = Registry.default(
        extra=[("replicate/hello-world", hello_world), shout], entry_points=False
    )
    latest = registry.get("replicate/hello-world")
    assert latest is not None and latest is not builtin_models.HELLO_WORLD
    # the built-in version is still there, and runnable by its id
    assert registry.by_version(builtin_models.HELLO_WORLD_VERSION) is builtin_models.HELLO_WORLD
    versions = [p for p in registry.all() if p.ref == "replicate/hello-world"]
    assert len(versions) == 2
    # a plain function is owned by the emulator's account
    assert registry.get("emulator/shout") is not None


def test_registering_the_same_interface_again_replaces_it() -> None:
    def one(x: int = 1) -> int:
        return x

    registry = Registry()
    first = registry.add(one, ref="acme/one")
    second = registry.add(one, ref="acme/one")
    assert first.version_id == second.version_id
    assert registry.all() == [second]
    with pytest.raises(ValueError, match="already"):
        registry.add(Predictor(one, "acme/two", version_id=first.version_id))
    with pytest.raises(ValueError, match="cannot be registered"):
        registry.add(first, ref="acme/three")
    with pytest.raises(TypeError, match="Predictor or a typed function"):
        registry.add(42)


PLUGIN = """
from replicate_emulator.hookspecs import hookimpl


@hookimpl
def replicate_emulator_register_models(register):
    def caption(style: str = "plain") -> str:
        return "a " + style + " picture"

    register(caption, ref="acme/captioner", description="Captions")
"""

BROKEN = """
from replicate_emulator.hookspecs import hookimpl


@hookimpl
def replicate_emulator_register_models(register):
    raise RuntimeError("boom")
"""


def install_plugin(root: Path, name: str, source: str) -> None:
    """A distribution on ``root`` publishing module ``name`` in the emulator's group."""
    (root / f"{name}.py").write_text(textwrap.dedent(source))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[replicate_emulator]\n{name} = {name}\n")


@pytest.fixture
def plugin_path(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("emu_test_plugin")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        entry_point_models(reload=True)


def test_entry_point_plugins_add_models(plugin_path: Path) -> None:
    install_plugin(plugin_path, "emu_test_plugin_ok", PLUGIN)
    models = entry_point_models(reload=True)
    refs = [p.ref for p in models]
    assert "acme/captioner" in refs
    registry = Registry.default()
    captioner = registry.get("acme/captioner")
    assert captioner is not None and captioner.description == "Captions"
    assert captioner.run({}, _NoContext()) == "a plain picture"
    assert Registry.default(entry_points=False).get("acme/captioner") is None
    # loaded once: a second call returns the same predictors without loading again
    assert entry_point_models()[0] is models[0]


def test_a_broken_plugin_is_left_out_with_a_warning(
    plugin_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(plugin_path, "emu_test_plugin_ok", PLUGIN)
    install_plugin(plugin_path, "emu_test_plugin_zbroken", BROKEN)
    monkeypatch.delenv("REPLICATE_STRICT_PLUGINS", raising=False)
    with pytest.warns(RuntimeWarning, match="emu_test_plugin_zbroken.*boom"):
        refs = [p.ref for p in entry_point_models(reload=True)]
    assert "acme/captioner" in refs  # the good one still counts
    monkeypatch.setenv("REPLICATE_STRICT_PLUGINS", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(PluginError, match="boom"):
            entry_point_models(reload=True)


def test_a_plugin_that_fails_to_import_is_left_out(
    plugin_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(plugin_path, "emu_test_plugin_bad_import", "import no_such_module_here\n")
    monkeypatch.delenv("REPLICATE_STRICT_PLUGINS", raising=False)
    with pytest.warns(RuntimeWarning, match="could not be loaded"):
        entry_point_models(reload=True)


class _NoContext:
    canceled = False

    def log(self, text: str) -> None:
        pass

    def check(self) -> None:
        pass

    def open_input(self, url: str) -> bytes:
        raise AssertionError(url)
