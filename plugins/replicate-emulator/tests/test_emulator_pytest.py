"""The pytest fixtures, as the installed plugin (pytest11 entry point) provides them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest

import replicate


def test_emulator_client(emulator_client, emulator):
    assert emulator_client.run("replicate/hello-world", input={"text": "fx"}) == "hello fx"
    assert [doc["input"] for doc in emulator.predictions()] == [{"text": "fx"}]


def test_a_fresh_emulator_per_test(emulator):
    assert emulator.predictions() == []


def test_async_emulator_client(async_emulator_client, emulator):
    async def main():
        return await async_emulator_client.run("replicate/hello-world", input={"text": "afx"})

    assert asyncio.run(main()) == "hello afx"
    assert len(emulator.predictions()) == 1


def test_emulator_url(emulator_url, emulator):
    assert emulator_url.startswith("http://127.0.0.1:") and emulator_url.endswith("/v1")
    with replicate.Replicate(base_url=emulator_url, bearer_token="t") as client:
        assert client.run("replicate/hello-world", input={"text": "u"}) == "hello u"
    # The served emulator is the same object the test asserts on.
    assert [doc["input"] for doc in emulator.predictions()] == [{"text": "u"}]


def test_rate_limits_are_off(emulator):
    assert emulator.ratelimit.enabled is False


def test_the_fixtures_in_a_project_of_its_own(tmp_path):
    """In a fresh project, with nothing but the installed plugin: fixtures work, a module's own
    fixture of the same name wins, and the emulator is closed after each test."""
    (tmp_path / "test_project.py").write_text(
        textwrap.dedent(
            """
            import pytest

            closed = []

            def test_client(emulator_client, emulator):
                assert emulator_client.run("replicate/hello-world", input={}) == "hello world"
                assert len(emulator.predictions()) == 1
                real_close = emulator.close
                emulator.close = lambda: (closed.append(True), real_close())

            def test_closed_after_the_test():
                assert closed == [True]

            def test_url(emulator_url):
                assert emulator_url.endswith("/v1")
            """
        )
    )
    (tmp_path / "test_override.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture
            def emulator():
                return "mine"

            def test_own_fixture_wins(emulator):
                assert emulator == "mine"
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_the_plugin_module_is_cheap_to_import():
    code = (
        "import sys, replicate_emulator.pytest_plugin;"
        "heavy = [m for m in ('replicate_emulator.app', 'replicate_emulator.transport',"
        " 'replicate_emulator.server', 'replicate') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_rate_limits_are_off_by_default(emulator_client, emulator):
    assert not emulator.ratelimit.enabled


@pytest.mark.emulator(rate_limits=True)
def test_a_marker_asks_for_the_rate_limits(emulator_client, emulator):
    assert emulator.ratelimit.enabled
    emulator_client.run("replicate/hello-world", input={"text": "limited"})


@pytest.mark.emulator(faults=[{"route": "GET /v1/account", "status": 503}])
def test_a_marker_passes_faults(emulator_client):
    with pytest.raises(replicate.APIStatusError) as info:
        emulator_client.with_options(max_retries=0).account.get()
    assert info.value.status_code == 503
