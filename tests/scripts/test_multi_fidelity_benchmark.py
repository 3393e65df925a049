"""The multi-fidelity benchmark script: its regret bookkeeping, and a tiny end-to-end run."""

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "benchmarks" / "multi_fidelity"


@pytest.fixture
def common():
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("mf_common", SCRIPTS / "common.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(SCRIPTS))


def test_trajectory_follows_the_incumbent_of_the_largest_budget(common):
    records = [
        common.record(0.25, 5.0, 0.0, 1.0, regret=3.0),
        common.record(0.25, 4.0, 0.0, 2.0, regret=6.0),  # lower observed loss, worse true regret
        common.record(1.0, None, 2.0, 3.0, regret=0.1),  # failed: no incumbent on budget 1 yet
        common.record(1.0, 9.0, 1.0, 5.0, regret=2.0),  # the largest budget wins, whatever its loss
    ]
    trajectory = common.Trajectory(records, max_budget=1.0)
    assert trajectory.regret == [3.0, 6.0, 6.0, 2.0]
    assert trajectory.budget_spent == [0.25, 0.5, 1.5, 2.5]
    assert trajectory.at_budget(0.1) == math.inf and trajectory.at_budget(0.5) == 6.0
    assert trajectory.at_time(4.9) == 6.0 and trajectory.at_time(5.0) == 2.0


def test_hyperband_total_budget(common):
    # one cycle of Hyperband(1/27, 1, 3): 4 + 3 + 4 + 4 max-budget units
    assert common.hyperband_total_budget(4, 1 / 27, 1.0) == pytest.approx(15.0)
    assert common.median([3.0, 1.0, math.inf]) == 3.0 and common.median([1.0, 2.0]) == 1.5


def test_tiny_run_writes_the_report(tmp_path):
    pytest.importorskip("ultraopt.hdl.compile", reason="needs the HDL compiler: the functions' spaces are HDL")
    out = tmp_path / "report.md"
    command = [sys.executable, str(SCRIPTS / "run.py"), "--functions", "branin_mf", "--seeds", "1",
               "--n-brackets", "2", "--optimizers", "Random", "NoSuchOptimizer", "--cache-dir", str(tmp_path),
               "--out", str(out)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stderr
    text = out.read_text()
    assert "Random+HB sync" in text and "Random+HB async" in text and "NoSuchOptimizer" in text
    assert "utilization" in text and text in completed.stdout
