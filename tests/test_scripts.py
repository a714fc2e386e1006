"""The scripts: scripts/_venv.sh runs pip only when something it installs has changed,
scripts/build_wheels.sh clears only its own earlier wheels, the virtualenvs are ignored by git.

The scripts run against a copy of the files they read, with a stand-in for the virtualenv's Python
that records how it was called (and runs nothing but ``-VV``), so no package is installed.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$CALLS"
if [ "$1" = "-VV" ]; then exec "$REAL_PYTHON" -VV; fi
exit 0
"""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "_venv.sh", project / "scripts")
    shutil.copy(ROOT / "pyproject.toml", project)
    (project / "replicate").mkdir()
    shutil.copy(ROOT / "replicate" / "_version.py", project / "replicate")
    for plugin in (ROOT / "plugins").glob("*/pyproject.toml"):
        target = project / "plugins" / plugin.parent.name
        target.mkdir(parents=True)
        shutil.copy(plugin, target)
    venv_bin = project / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(FAKE_PYTHON)
    (venv_bin / "python").chmod(0o755)
    return project


def _pip_calls(project: Path, extras: str) -> list[str]:
    calls = project / "calls.log"
    calls.unlink(missing_ok=True)
    subprocess.run(
        ["bash", "-c", 'source scripts/_venv.sh && echo "venv: $VENV"'],
        cwd=project,
        env={
            **os.environ,
            "EXTRAS": extras,
            "VENV": ".venv",
            "PYTHON": sys.executable,
            "REAL_PYTHON": sys.executable,
            "CALLS": str(calls),
        },
        check=True,
        capture_output=True,
        timeout=60,
    )
    return [line for line in calls.read_text().splitlines() if "pip" in line]


def test_pip_runs_only_when_what_it_installs_changed(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _pip_calls(project, "[dev]")
    assert any("install" in c and "-e .[dev]" in c for c in first), first
    assert any("-e plugins/replicate-token-command/" in c for c in first), first
    assert _pip_calls(project, "[dev]") == []  # nothing changed
    assert _pip_calls(project, "") == []  # the dev install already holds the core
    pyproject = project / "plugins" / "replicate-token-command" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# changed\n")
    assert _pip_calls(project, "") != []  # a plugin's project changed
    assert _pip_calls(project, "") == []
    assert _pip_calls(project, "[dev]") != []  # the extras were not installed yet
    version = project / "replicate" / "_version.py"
    version.write_text(version.read_text().replace("0.1.0", "0.1.1"))
    assert _pip_calls(project, "[dev]") != []  # a new version
    assert _pip_calls(project, "[dev]") == []
    (project / "plugins" / "replicate-token-command").rename(project / "plugins" / "token-command")
    renamed = _pip_calls(project, "[dev]")  # the same contents, from another folder
    assert any("-e plugins/token-command/" in c for c in renamed), renamed
    assert _pip_calls(project, "[dev]") == []


def test_build_wheels_removes_only_the_earlier_wheels_of_these_distributions(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    shutil.copy(ROOT / "scripts" / "build_wheels.sh", project / "scripts")
    # The wheel's name comes from the plugin's pyproject.toml, not from its folder's name.
    (project / "plugins" / "replicate-token-command").rename(project / "plugins" / "token")
    dist = tmp_path / "dist"
    dist.mkdir()
    stale = ["replicate-1!0.0.9-py3-none-any.whl", "replicate_token_command-0.0.1-py3-none-any.whl"]
    others = [
        "replicate_other-1.0-py3-none-any.whl",
        "requests-2.0-py3-none-any.whl",
        "replicate-1!0.0.9.tar.gz",
        "notes.txt",
    ]
    for name in stale + others:
        (dist / name).write_text("")
    calls = project / "calls.log"
    subprocess.run(
        ["bash", "scripts/build_wheels.sh"],
        cwd=project,
        env={
            **os.environ,
            "DIST": str(dist),
            "PYTHON": str(project / ".venv" / "bin" / "python"),
            "REAL_PYTHON": sys.executable,
            "CALLS": str(calls),
        },
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert sorted(p.name for p in dist.iterdir()) == sorted(others)
    (wheel_call,) = calls.read_text().splitlines()
    assert wheel_call.startswith("-m pip wheel ") and f"-w {dist} " in wheel_call, wheel_call


def test_the_virtualenvs_are_ignored_by_git(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    # A repository of its own holding the checkout's .gitignore: CI's copy has no .git folder.
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / ".gitignore", repo)
    run = functools.partial(
        subprocess.run, cwd=repo, capture_output=True, text=True, check=False, timeout=30
    )
    assert run([git, "init", "-q"]).returncode == 0
    venvs = [".venv", ".venv-ci"]
    for venv in venvs:
        (repo / venv / "bin").mkdir(parents=True)
        (repo / venv / "bin" / "python").write_text("")
    checked = run([git, "check-ignore", "--verbose", "--non-matching", *venvs])
    ignored = [line for line in checked.stdout.splitlines() if not line.startswith("::")]
    assert checked.returncode == 0 and len(ignored) == len(venvs), checked.stdout + checked.stderr
    untracked = run([git, "status", "--porcelain", "--untracked-files=all"])
    assert untracked.stdout.splitlines() == ["?? .gitignore"], untracked.stdout


def test_the_readme_layout_lists_every_module() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") : readme.index("## Benchmarks")]
    listed = {line.split()[0] for line in layout.splitlines() if line.startswith("  ")}
    package = ROOT / "replicate"
    modules = {p.name for p in package.glob("*.py")}
    subpackages = {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()}
    subpackages |= {f"{p.parent.name}/" for p in package.glob("*/*.py")}
    assert modules | subpackages <= listed, sorted((modules | subpackages) - listed)
