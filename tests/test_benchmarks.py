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


def _runner() -> Any:
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _declared() -> dict[str, list[str]]:
    """Each scenario's contenders, as the runner declares them."""
    return {sc.name: sc.contenders for sc in _runner().scenarios(True)}


def test_the_get_target_is_judged_on_each_of_three_runs() -> None:
    """ "At most 1.15x the floor, in three runs out of three": each run's median of per-round
    ratios, every run within the bound, and no fewer runs than the scenario asks for."""
    run = _runner()
    get = next(sc for sc in run.scenarios(False) if sc.name == "get")
    assert get.runs == 3

    def result(ratios_by_run: list[list[float]]) -> Any:
        r = run.Result(get)
        for k, ratios in enumerate(ratios_by_run):
            for x in ratios:
                r.samples.setdefault("ours-urllib3", []).append({"cpu_s": x, "n": 1, "run": k})
                r.samples.setdefault("floor-urllib3", []).append({"cpu_s": 1.0, "n": 1, "run": k})
        return r

    def verdict(r: Any) -> tuple[bool, str]:
        ok, text = run.v_get(r)[0]
        return ok, text

    good = result([[1.0, 1.3, 1.1], [1.2, 1.1, 1.0], [1.14, 1.5, 0.9]])
    assert good.per_run("ours-urllib3", "floor-urllib3", "cpu_us") == [1.1, 1.1, 1.14]
    assert verdict(good) == (
        True,
        "CPU per get: ours-urllib3 <= 1.15x floor-urllib3 in 3 of 3 runs "
        "(1.10x, 1.10x, 1.14x; target: 3 of 3)",
    )
    assert verdict(result([[1.0], [1.0], [1.2]]))[0] is False
    assert verdict(result([[1.0], [1.0]]))[0] is False  # two runs are not three


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
