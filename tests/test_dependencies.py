"""What installing the SDK and each plugin brings in: the default install is three libraries,
and a plugin adds only the library it wraps (as installed: the distributions' own metadata)."""

from __future__ import annotations

import re
from importlib.metadata import requires
from pathlib import Path

import pytest

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"

#: Each plugin's runtime requirements besides ``replicate`` itself.
OWN = {
    "replicate-aiohttp": ["aiohttp"],
    "replicate-emulator": ["msgspec", "pluggy"],  # both already the core's
    "replicate-httpx": ["httpx"],
    "replicate-keyring": ["keyring"],
    "replicate-opentelemetry": ["opentelemetry-api"],
    "replicate-requests": ["requests"],
    "replicate-token-command": [],
}


def runtime(dist: str) -> list[str]:
    """The names a distribution requires when installed without extras."""
    plain = [r for r in requires(dist) or [] if "extra ==" not in r]
    return sorted({re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in plain})


def test_the_default_install_is_three_libraries() -> None:
    assert runtime("replicate") == ["msgspec", "pluggy", "urllib3"]


def test_every_plugin_is_listed_here() -> None:
    assert sorted(p.parent.name for p in PLUGINS_DIR.glob("*/pyproject.toml")) == sorted(OWN)


@pytest.mark.parametrize("dist", sorted(OWN))
def test_a_plugin_adds_only_its_own_library(dist: str) -> None:
    assert runtime(dist) == sorted(["replicate", *OWN[dist]])
