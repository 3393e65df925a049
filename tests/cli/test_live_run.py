"""``ultraopt show`` and ``ultraopt report`` on the checkpoint file of a run that another process is writing."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ultraopt import FMinResult

ROOT = Path(__file__).resolve().parents[2]


def wait_for_trials(path, n, timeout=120.0):
    """The run in ``path`` once it holds at least ``n`` finished trials (it may not exist yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                run = FMinResult.load(path)
            except ValueError:  # created but not initialised yet
                run = None
            if run is not None and len(run.trials) >= n:
                return run
        time.sleep(0.2)
    raise AssertionError(f"the run did not finish {n} trials within {timeout} s")


def ultraopt(*args):
    return subprocess.run([sys.executable, "-m", "ultraopt", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
                              str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH")]))})


@pytest.fixture
def live_run(tmp_path):
    """``(process, path)``: a run writing ``path`` in another process, stopped after the test."""
    path = tmp_path / "run.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT),
                                                                       os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", "tests.cli.live_run", str(path)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield process, path
    finally:
        process.kill()
        process.wait(timeout=30)
        process.stderr.close()


def test_show_and_report_read_the_run_while_it_is_going(live_run, tmp_path):
    process, path = live_run
    seen = wait_for_trials(path, 5)
    shown = ultraopt("show", str(path))
    assert shown.returncode == 0, shown.stderr
    n_shown = int(re.search(r"^trials: (\d+) \(", shown.stdout, flags=re.M).group(1))
    assert n_shown >= len(seen.trials) and "Optimal Loss" in shown.stdout and "budget 1/9" in shown.stdout
    assert "cancelled" not in shown.stdout  # a trial still running is not reported as cancelled

    report = tmp_path / "live.html"
    written = ultraopt("report", str(path), "-o", str(report))
    assert written.returncode == 0, written.stderr
    n_reported = int(re.search(r"report of (\d+) trials written", written.stdout).group(1))
    assert n_reported >= n_shown
    page = report.read_text(encoding="utf-8")
    body = re.search(r'<table id="trials-table">.*?<tbody>(.*?)</tbody>', page, flags=re.S).group(1)
    assert len(re.findall(r"<tr[ >]", body)) == n_reported

    assert process.poll() is None, f"the run stopped before the readers were done: {process.stderr.read()}"
    later = FMinResult.load(path)
    assert len(later.trials) > n_shown  # it was still writing all along
