"""The benchmark runner runs: ``benchmarks/run.py --quick`` gives every scenario a row for every
contender this machine has (the official SDKs when their venvs exist, as CI makes them with
``scripts/_anchors.sh``; a transport plugin when installed). Quick mode checks that everything
runs, never a timing: no figure is asserted on.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from typing import Any

import pytest
from support import ROOT

RUNNER = ROOT / "benchmarks" / "run.py"
SCENARIOS = {
    "import", "cold", "get", "page", "paginate", "run_sync", "run_poll", "sse", "threads16",
    "async100", "download", "upload",
}  # fmt: skip


def _available() -> set[str]:
    """The contenders this machine can run."""
    have = {"ours-urllib3", "floor-urllib3", "floor-httpx", "floor-aiohttp"}
    plugins = {"replicate_httpx": "ours-httpx", "replicate_aiohttp": "ours-aiohttp"}
    have |= {c for module, c in plugins.items() if importlib.util.find_spec(module) is not None}
    venvs = [ROOT / ".venv-anchors", ROOT / ".venv-bench"]
    for name in ("v1", "v2"):
        if any((venv / name / "bin" / "python").exists() for venv in venvs):
            have.add(name)
    return have


def _declared() -> dict[str, list[str]]:
    """Each scenario's contenders, as the runner declares them."""
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return {sc.name: sc.contenders for sc in module.scenarios(True)}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--quick", "--no-create", "--markdown", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


@pytest.mark.timeout(160)
def test_every_scenario_has_a_row_for_every_available_contender(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    report, _ = quick_run
    assert report["quick"] is True
    batch = {"batch"} if (ROOT / "benchmarks" / "bench_batch.py").exists() else set()
    assert set(report["scenarios"]) == SCENARIOS | batch
    declared, available = _declared(), _available()
    for name, scenario in report["scenarios"].items():
        wanted = {c for c in declared[name] if c in available}
        assert set(scenario["medians"]) == wanted, (name, scenario["notes"])
        assert scenario["verdicts"] == [], "quick mode gives no verdict"


@pytest.mark.timeout(160)
def test_the_server_cpu_is_read_around_samples_and_the_readme_table_prints(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    report, stdout = quick_run
    sample = report["scenarios"]["get"]["samples"]["ours-urllib3"][0]
    assert sample["server_requests"] >= 1 and sample["server_cpu_s"] >= 0
    assert "| scenario | figure | ours | floor | v2 | v1 | ours / floor |" in stdout
    assert report["machine"]["nproc"] and report["machine"]["python"]


def test_an_unknown_scenario_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--only", "nope"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "unknown scenario(s): nope" in proc.stderr
