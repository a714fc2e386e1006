"""The module-level functions show the client methods' real parameters (help(), inspect, mypy).

mypy's view is checked by scripts/test.sh on tests/typing/module_api.py.
"""

from __future__ import annotations

import inspect
import pydoc

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer

import replicate


def _without_self(method: object) -> list[tuple[str, object, object, object]]:
    params = list(inspect.signature(method).parameters.values())  # type: ignore[arg-type]
    if params and params[0].name == "self":
        params = params[1:]
    return [(p.name, p.kind, p.default, p.annotation) for p in params]


@pytest.mark.parametrize("name", ["run", "stream", "use"])
def test_module_functions_take_the_client_methods_parameters(name: str) -> None:
    function = getattr(replicate, name)
    method = getattr(replicate.Replicate, name)
    assert _without_self(function) == _without_self(method)
    assert inspect.signature(function).return_annotation == (
        inspect.signature(method).return_annotation
    )
    assert function.__doc__


def test_help_shows_the_parameters() -> None:
    text = pydoc.render_doc(replicate.run, renderer=pydoc.plaintext)
    for parameter in ("input", "wait", "timeout", "on_update", "cancel_after", "webhook"):
        assert f"{parameter}:" in text or f"{parameter}=" in text, parameter
    text = pydoc.render_doc(replicate.stream, renderer=pydoc.plaintext)
    assert "input:" in text and "timeout" in text


def test_a_misspelled_keyword_is_refused() -> None:
    with pytest.raises(TypeError, match="inputs"):
        replicate.run("acme/model", inputs={})  # type: ignore[call-arg]


def test_module_level_resources_are_the_default_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_x")
    client = replicate.default_client()
    get = replicate.predictions.get
    assert get.__self__ is client.predictions  # type: ignore[attr-defined]
    assert "prediction_id" in inspect.signature(get).parameters


def test_module_level_settings_configure_the_default_client(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v2's ``replicate.bearer_token = ...`` (and the rest) configure the default client, from
    its next use on; unset, they read as v2's defaults."""
    from replicate._config import DEFAULT_TIMEOUT

    assert replicate.bearer_token is None and replicate.base_url is None
    assert replicate.timeout is DEFAULT_TIMEOUT and replicate.max_retries == 2
    assert replicate.default_headers is None and replicate.default_query is None

    httpserver.expect_request("/v1/predictions/p1").respond_with_json({"id": "p1"})
    monkeypatch.setattr(replicate, "bearer_token", TOKEN, raising=False)
    monkeypatch.setattr(replicate, "base_url", httpserver.url_for("/v1"), raising=False)
    monkeypatch.setattr(replicate, "default_headers", {"X-Team": "a"}, raising=False)
    monkeypatch.setattr(replicate, "max_retries", 0, raising=False)
    assert replicate.predictions.get(prediction_id="p1").id == "p1"
    first = replicate.default_client()
    assert first.max_retries == 0 and first.base_url == httpserver.url_for("/v1")
    (request, _), *_ = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Team"] == "a"

    assert replicate.default_client() is first  # nothing changed: the same client
    replicate.default_headers["X-Team"] = "b"  # type: ignore[index]  # a change in place counts
    replicate.predictions.get(prediction_id="p1")
    assert replicate.default_client() is not first
    assert httpserver.log[-1][0].headers["X-Team"] == "b"
    monkeypatch.setattr(replicate, "timeout", 7.5, raising=False)
    assert replicate.default_client().timeout.read == 7.5
