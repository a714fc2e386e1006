"""The reference data setting: found, missing (skipped with one line), missing under CI (error)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import reference

HERE = Path(__file__).resolve().parent

SAMPLE = """
import pytest


@pytest.mark.reference
def test_needs_the_reference_data():
    pass


@pytest.mark.reference
@pytest.mark.parametrize("n", [])
def test_parametrized_over_nothing(n):
    pass


def test_needs_nothing():
    pass
"""


def _pytest_in_a_copy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on a sample test file beside copies of this conftest and reference module, in a
    folder with no ``shared/`` next to it."""
    project = tmp_path / "project"
    tests = project / "tests"
    tests.mkdir(parents=True)
    for name in ("conftest.py", "reference.py"):
        shutil.copy(HERE / name, tests / name)
    (tests / "test_sample.py").write_text(SAMPLE)
    (project / "pytest.ini").write_text(
        "[pytest]\naddopts = -ra --strict-markers -p no:cacheprovider\n"
        "markers = reference: needs the reference data\n"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", reference.ENV_VAR)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests"],
        cwd=project,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_default_is_shared_reference_beside_the_project() -> None:
    assert HERE.parent.parent / "shared" / "reference" == reference.DEFAULT


def test_without_the_data_its_tests_are_skipped_with_one_line(tmp_path: Path) -> None:
    result = _pytest_in_a_copy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 2 skipped" in result.stdout
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1, skipped  # one line for every test that needs the data
    (line,) = skipped
    assert "[2]" in line and "reference data not found at" in line
    assert str(tmp_path / "shared" / "reference") in line
    assert reference.ENV_VAR in line


def test_without_the_data_under_ci_it_is_an_error(tmp_path: Path) -> None:
    result = _pytest_in_a_copy(tmp_path, CI="true")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "reference data not found" in result.stderr
    assert "CI=true" in result.stderr


def test_a_setting_that_names_no_directory_is_an_error(tmp_path: Path) -> None:
    result = _pytest_in_a_copy(tmp_path, **{reference.ENV_VAR: str(tmp_path / "nowhere")})
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "is not a directory" in result.stderr


def test_the_setting_locates_all_of_it(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"
    data.mkdir()
    result = _pytest_in_a_copy(tmp_path, CI="true", **{reference.ENV_VAR: str(data)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 1 skipped" in result.stdout  # the empty parameter set, as pytest skips it
    assert f"reference data: {data}" in result.stdout
