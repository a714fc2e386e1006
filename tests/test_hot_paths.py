"""What keeps the hot paths cheap, checked for doing the same as the slower way it replaces: the
entry-point scan that reads ``*.dist-info`` folders itself, a client with only the built-ins
answering without pluggy, the header and request copies, and the large reads of a download."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import replicate
from replicate import _plugins, builtin, hookspecs
from replicate._http import LARGE_READ, Headers, Request
from replicate.transports import helpers
from replicate.transports.urllib3_transport import _iter_read1

# --- the entry-point scan -----------------------------------------------------------------------


def _dist(site: Path, folder: str, name: str, entry_points: str | None) -> None:
    info = site / folder
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2\n\nbody\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """Two folders at the front of sys.path, the first shadowing the second."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    importlib.invalidate_caches()
    yield first, second
    importlib.invalidate_caches()
    _plugins.reset()


def _described(eps: Any) -> list[tuple[str, str, str | None, str | None]]:
    return [(ep.name, ep.value, ep.dist.name, ep.dist.version) for ep in eps]


def test_the_scan_finds_what_importlib_metadata_finds(sites: tuple[Path, Path]) -> None:
    first, second = sites
    _dist(
        first,
        "rp_alpha-1.2.dist-info",
        "rp-alpha",
        "# a comment\n[console_scripts]\nalpha = rp_alpha:main\n\n"
        "[replicate]\nalpha = rp_alpha\nalpha-extra = rp_alpha:plugin.inner [fast]\n",
    )
    _dist(first, "rp_noeps-1.0.dist-info", "rp-noeps", None)
    _dist(first, "rp_egg.egg-info", "rp-egg", "[replicate]\negg=rp_egg\n")
    # Shadowed by first's rp_alpha (same normalised name): its entry points do not count.
    _dist(second, "RP.Alpha-0.9.dist-info", "RP.Alpha", "[replicate]\nold = rp_old\n")
    _dist(second, "rp_beta-2.0.dist-info", "rp_beta", "[replicate]\nbeta = rp_beta\n")
    (second / "rp_file.egg-info").write_text("Metadata-Version: 1.0\nName: rp-file\n")
    fast = _plugins._fast_entry_points()
    assert fast is not None
    expected = _described(importlib.metadata.entry_points(group="replicate"))
    assert _described(fast) == expected
    names = [e[0] for e in expected]
    assert {"alpha", "alpha-extra", "egg", "beta"} <= set(names)
    assert "old" not in names


def test_an_entry_point_loads_its_attribute(sites: tuple[Path, Path]) -> None:
    first, _ = sites
    (first / "rp_attr.py").write_text("class plugin:\n    class inner:\n        pass\n")
    _dist(first, "rp_attr-1.0.dist-info", "rp-attr", "[replicate]\nx = rp_attr:plugin.inner [a]\n")
    try:
        (ep,) = [ep for ep in _plugins._fast_entry_points() or () if ep.name == "x"]
        assert ep.load() is sys.modules["rp_attr"].plugin.inner
    finally:
        sys.modules.pop("rp_attr", None)


def test_a_zip_on_sys_path_is_left_to_importlib_metadata(
    sites: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("rp_zipped-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: rp-zipped\n")
        z.writestr("rp_zipped-1.0.dist-info/entry_points.txt", "[replicate]\nzipped = rp_zipped\n")
    monkeypatch.syspath_prepend(str(archive))
    _plugins.reset()
    assert _plugins._fast_entry_points() is None
    assert "zipped" in {ep.name for ep in _plugins._scan()}


# --- a client with only the built-ins ----------------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without REPLICATE_* settings or proxies, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REPLICATE_") and not k.lower().endswith("_proxy")
    }
    return env | extra


def test_a_first_client_without_plugins_needs_no_pluggy(tmp_path: Path) -> None:
    env = _clean_env(REPLICATE_PLUGINS="")
    code = textwrap.dedent(
        """
        import sys
        import replicate
        client = replicate.Replicate(bearer_token="x", base_url="http://127.0.0.1:9/v1")
        print(sorted(m for m in ("pluggy", "replicate.hookspecs", "urllib.request")
                     if m in sys.modules))
        pm = client._core.plugins.pm  # made when asked for, holding the built-ins
        print("pluggy" in sys.modules, pm.is_registered(replicate.builtin))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "True True"]


def test_a_first_get_loads_only_what_a_get_needs(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        {"id": "p1", "status": "succeeded", "output": ["a"], "logs": "done\n"}
    )
    env = _clean_env(REPLICATE_PLUGINS="")
    code = textwrap.dedent(
        f"""
        import sys
        import replicate
        client = replicate.Replicate(bearer_token="x", base_url={httpserver.url_for("/v1")!r})
        prediction = client.predictions.get("p1")
        print(sorted(m for m in (
            "replicate._events",  # observer events: only with observers
            "replicate._options",  # run() and stream() options
            "replicate._create",  # create requests
            "replicate._response",  # with_raw_response / with_streaming_response
            "replicate.types._objects",  # every object but predictions
        ) if m in sys.modules))
        print(prediction.output, repr(prediction.logs))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "['a'] 'done\\n'"]


def _answers(plugins: _plugins.Plugins) -> dict[str, Any]:
    config = replicate.ClientConfig()
    return {
        "transports": {
            n: (e.factory, e.sync, e.async_, e.plugin) for n, e in plugins.transports.items()
        },
        "retry": type(
            plugins.one_answer("replicate_retry_policy", {"config": config}, choice_env="X_NONE")
        ),
        "auth": type(
            plugins.one_answer(
                "replicate_auth_provider", {"config": config, "chosen": False}, choice_env="X_NONE"
            )
        ),
        "prepare": plugins.callers("replicate_prepare_request", ("request", "config")),
        "decode": [
            n
            for n, _ in plugins.named_callers(
                "replicate_decode_output", ("value", "schema", "context")
            )
        ],
        "only_builtin": [plugins.only_builtin(h) for h in builtin.HOOKS],
        "answering": plugins.answering("replicate_auth_provider"),
    }


def test_the_built_ins_answer_alike_with_and_without_pluggy() -> None:
    plugins = _plugins.Plugins((), builtin=builtin)
    assert plugins._direct
    direct = _answers(plugins)
    assert plugins.pm.is_registered(builtin)
    assert not plugins._direct
    assert _answers(plugins) == direct
    with pytest.raises(_plugins.UnknownPluginError):
        _plugins.Plugins((), builtin=builtin).named_answer(
            "replicate_auth_provider", "nope", {"config": None}, source="auth='nope'"
        )


def test_every_built_in_hook_is_listed_and_specified() -> None:
    functions = {n for n in dir(builtin) if n.startswith("replicate_")}
    assert functions == set(builtin.HOOKS)
    assert set(builtin.HOOKS) <= {n for n in dir(hookspecs) if n.startswith("replicate_")}


# --- headers and requests ----------------------------------------------------------------------


def test_headers_update_keeps_case_insensitive_names() -> None:
    headers = Headers({"Accept": "a"})
    headers.update({"accept": "b", "X-One": "1"})
    headers.update(Headers({"X-TWO": "2"}))
    headers.update([("x-three", "3")], X_Four="4")
    assert headers == {"ACCEPT": "b", "x-one": "1", "x-two": "2", "X-Three": "3", "x_four": "4"}
    assert headers.to_dict()["accept"] == "b"  # sent in the case it was last set
    assert headers.to_dict()["X-TWO"] == "2"


def test_a_request_copy_has_headers_of_its_own() -> None:
    request = Request("get", "https://api.example.com/v1/x", headers={"A": "1"}, idempotent=False)
    copy = request.copy()
    copy.headers["B"] = "2"
    assert "b" not in request.headers
    assert (copy.method, copy.url, copy.idempotent, copy.extensions) == (
        "GET",
        request.url,
        False,
        request.extensions,
    )


# --- reading bodies ---------------------------------------------------------------------------


def test_reads_grow_while_full_and_shrink_when_mostly_empty() -> None:
    pieces = [65536, 131072, 262144, 100, 100, 100, 100]
    asked: list[int] = []

    def read1(size: int) -> bytes:
        asked.append(size)
        return b"x" * min(size, pieces.pop(0)) if pieces else b""

    chunks = list(_iter_read1(read1, LARGE_READ))
    assert [len(c) for c in chunks] == [65536, 131072, 262144, 100, 100, 100, 100]
    assert asked[:5] == [65536, 131072, 262144, 524288, 262144]
    assert min(asked) == helpers.CHUNK  # never below the default read
    assert list(_iter_read1(lambda n: b"", LARGE_READ)) == []


def test_a_download_reads_large_pieces_and_a_stream_small_ones(httpserver: HTTPServer) -> None:
    payload = os.urandom(8 * 1024 * 1024)
    httpserver.expect_request("/files/big.bin").respond_with_data(
        payload, content_type="application/octet-stream"
    )
    url = httpserver.url_for("/files/big.bin")
    with replicate.Replicate(bearer_token="x", base_url=httpserver.url_for("/v1")) as client:
        chunks = list(replicate.FileOutput(url, client=client))
        assert b"".join(chunks) == payload
        assert max(len(c) for c in chunks) <= LARGE_READ
        with client.get(url, stream=True) as resp:
            streamed = list(resp.iter_bytes())
    assert b"".join(streamed) == payload
    assert max(len(c) for c in streamed) <= helpers.CHUNK
    assert len(chunks) < len(streamed)


def test_installed_plugins_import_their_libraries_only_when_chosen() -> None:
    # Every installed plugin is loaded by the first client, so its entry-point module must not
    # import the library it wraps: that waits for a client choosing its transport (or, for
    # opentelemetry, for the first event to record).
    # A plugin that fails to load is an error, not skipped.
    env = _clean_env(REPLICATE_STRICT_PLUGINS="1")
    code = textwrap.dedent(
        """
        import sys
        import replicate
        heavy = ("httpx", "aiohttp", "requests", "opentelemetry")
        client = replicate.Replicate(bearer_token="x", base_url="http://127.0.0.1:9/v1")
        print(",".join(sorted(client._core.plugins.installed_names)))
        print(sorted(m for m in sys.modules if m.partition(".")[0] in heavy))
        replicate.Replicate(bearer_token="x", transport="httpx").close()
        print("httpx" in sys.modules, "requests" in sys.modules)
        replicate.Replicate(bearer_token="x", transport="requests").close()
        print("requests" in sys.modules)
        print("asyncio" in sys.modules)  # sync clients never load it (~20 ms at a cold start)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert {"aiohttp", "httpx", "opentelemetry", "requests"} <= set(out[0].split(","))
    assert out[1:] == ["[]", "True False", "True", "False"]
