"""``replicate.plugins_report()``: installed plugins (real entry points, written per test into
a folder on ``sys.path``), which loaded or failed and why, and what each client kind would
choose, without building a transport or sending a request."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from support import Dists, installed_dists

import replicate
from replicate import _plugins


@pytest.fixture
def dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dists]:
    yield from installed_dists(tmp_path, monkeypatch, prefix="rr_", version="0.3")


def allow(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Only these installed plugins load (whatever else the machine has installed)."""
    monkeypatch.setenv("REPLICATE_PLUGINS", ",".join(names))
    _plugins.reset()


def by_name(report: Any) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in report.plugins}


OBSERVER = """
    from replicate import hookimpl

    @hookimpl
    def replicate_observe(event):
        pass
"""

#: A transport plugin whose factories must never be called by the report.
TRANSPORT = """
    from replicate import hookimpl

    def factory(config):
        raise AssertionError("the report built a transport")

    @hookimpl
    def replicate_register_transports(register):
        register("fancy", factory, sync=True)
        register("fancy", factory, sync=False, async_=True)
        register("fancy-async", factory, sync=False, async_=True)
"""

AUTH = """
    from replicate import hookimpl

    class GatewayAuth:
        def auth_headers(self, request):
            raise AssertionError("the report called the provider")

    @hookimpl
    def replicate_auth_provider(config):
        return GatewayAuth()
"""


def test_loaded_failed_and_not_allowed_plugins_with_why(
    dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add("watch", OBSERVER)
    dists.add("broken", "raise RuntimeError('cannot start here')\n")
    dists.add(
        "bad-register",
        """
        from replicate import hookimpl

        @hookimpl
        def replicate_register_transports(register):
            raise OSError("no sockets today")
        """,
    )
    dists.add_entry_point("rr_missing", "missing", "rr_no_such_module")
    dists.add("elsewhere", OBSERVER)
    allow(monkeypatch, "watch", "broken", "bad-register", "missing")
    report = replicate.plugins_report()
    plugins = by_name(report)
    assert plugins["watch"]["status"] == "loaded" and plugins["watch"]["error"] is None
    assert plugins["watch"]["hooks"] == ["replicate_observe"]
    assert plugins["watch"]["distribution"] == "rr_watch"
    assert plugins["watch"]["version"] == "0.3"
    assert plugins["watch"]["value"] == "rr_watch"
    assert plugins["broken"]["status"] == "failed"
    assert "RuntimeError: cannot start here" in plugins["broken"]["error"]
    assert plugins["bad-register"]["status"] == "failed"
    assert "OSError: no sockets today" in plugins["bad-register"]["error"]
    assert plugins["missing"]["status"] == "failed"
    assert "ModuleNotFoundError" in plugins["missing"]["error"]
    assert plugins["elsewhere"]["status"] == "not allowed"
    assert "elsewhere" not in sys.modules and "rr_elsewhere" not in sys.modules
    assert "watch" in report.loaded
    assert set(report.failed) >= {"broken", "bad-register", "missing"}
    text = str(report)
    assert "watch = rr_watch  (rr_watch 0.3): loaded" in text
    assert "cannot start here" in text and "not allowed" in text


def test_the_report_warns_nothing_and_raises_nothing_in_strict_mode(
    dists: Dists, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    dists.add("broken", "raise RuntimeError('cannot start here')\n")
    allow(monkeypatch, "broken")
    replicate.plugins_report()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    monkeypatch.setenv("REPLICATE_STRICT_PLUGINS", "1")
    _plugins.reset()
    report = replicate.plugins_report()
    assert report.error is not None and "cannot start here" in report.error
    assert by_name(report)["broken"]["status"] == "failed"
    assert "error" in report.clients["Replicate"]["transport"]
    assert "Plugins could not be set up" in str(report)


def test_defaults_without_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    allow(monkeypatch)  # none
    report = replicate.plugins_report()
    assert report.loaded == []
    assert report.transports == [
        {"name": "urllib3", "plugin": "replicate.builtin", "sync": True, "async": False}
    ]
    sync, async_ = report.clients["Replicate"], report.clients["AsyncReplicate"]
    assert sync["transport"] == {"name": "urllib3", "plugin": "replicate.builtin", "mode": "sync"}
    assert async_["transport"]["mode"] == "sync in worker threads"
    assert sync["auth"]["plugin"] == "replicate.builtin"
    assert sync["auth"]["provider"] == "replicate._auth.TokenAuth"


def test_transport_choice_per_client_kind_without_building_one(
    dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add("fancy", TRANSPORT)
    allow(monkeypatch, "fancy")
    monkeypatch.setenv("REPLICATE_TRANSPORT", "fancy")
    report = replicate.plugins_report()
    assert report.clients["Replicate"]["transport"] == {
        "name": "fancy",
        "plugin": "fancy",
        "mode": "sync",
    }
    assert report.clients["AsyncReplicate"]["transport"]["mode"] == "async"
    assert {t["name"]: (t["sync"], t["async"]) for t in report.transports} == {
        "fancy": (True, True),
        "fancy-async": (False, True),
        "urllib3": (True, False),
    }
    monkeypatch.setenv("REPLICATE_TRANSPORT", "fancy-async")
    report = replicate.plugins_report()
    assert "async-only" in report.clients["Replicate"]["transport"]["error"]
    assert report.clients["AsyncReplicate"]["transport"]["name"] == "fancy-async"
    monkeypatch.setenv("REPLICATE_TRANSPORT", "nope")
    report = replicate.plugins_report()
    error = report.clients["Replicate"]["transport"]["error"]
    assert "'nope' is not an installed transport" in error and "fancy" in error


def test_auth_choice_follows_the_precedence(dists: Dists, monkeypatch: pytest.MonkeyPatch) -> None:
    dists.add("gateway", AUTH)
    allow(monkeypatch, "gateway")
    report = replicate.plugins_report()
    assert report.clients["Replicate"]["auth"] == {
        "plugin": "gateway",
        "provider": "rr_gateway.GatewayAuth",
    }
    dists.add("other-gateway", AUTH)
    allow(monkeypatch, "gateway", "other-gateway")
    report = replicate.plugins_report()
    error = report.clients["AsyncReplicate"]["auth"]["error"]
    assert "'gateway', 'other-gateway'" in error and "REPLICATE_AUTH" in error
    monkeypatch.setenv("REPLICATE_AUTH", "other-gateway")
    report = replicate.plugins_report()
    assert report.clients["Replicate"]["auth"]["plugin"] == "other-gateway"


def test_json_and_no_token(monkeypatch: pytest.MonkeyPatch, dists: Dists) -> None:
    dists.add("watch", OBSERVER)
    allow(monkeypatch, "watch")
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    report = replicate.plugins_report()
    data = json.loads(report.to_json())
    assert data == report.as_dict()
    assert data["environment"]["REPLICATE_API_TOKEN"] == "set"
    assert data["environment"]["REPLICATE_PLUGINS"] == "watch"
    assert set(data) == {"plugins", "transports", "clients", "environment", "error"}
    assert set(data["clients"]) == {"Replicate", "AsyncReplicate"}
    for shown in (report.to_json(), str(report), repr(report)):
        assert TOKEN not in shown
    assert json.loads(report.to_json(indent=None)) == data


def test_import_replicate_does_not_load_the_report() -> None:
    code = (
        "import sys, replicate\n"
        "print('replicate._report' in sys.modules)\n"
        "replicate.plugins_report\n"
        "print('replicate._report' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]
