"""Worker processes started from where users call fmin: a spawn child, a Pool worker, code without a file."""

import subprocess
import sys
import textwrap
import types
import uuid

import pytest

from ultraopt import fmin
from ultraopt.trial import TrialStatus

SPACE = {"x": {"_type": "uniform", "_value": [-5.0, 5.0]}}


def run_script(tmp_path, body):
    script = tmp_path / "launcher.py"
    script.write_text(textwrap.dedent(body))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("strategy", ["MapReduce", "AsyncComm"])
def test_an_objective_from_code_without_a_file_runs_in_worker_processes(strategy):
    # a notebook tool or a plugin loader exec's code into a module made on the fly: sent by name, every worker
    # failed with "No module named ..." and the run ended in lost trials
    name = f"cell_{uuid.uuid4().hex}"
    module = types.ModuleType(name)
    exec("def objective(config):\n    return (config['x'] - 1) ** 2\n", module.__dict__)
    sys.modules[name] = module
    try:
        result = fmin(module.objective, SPACE, optimizer="Random", n_iterations=4, n_jobs=2,
                      parallel_strategy=strategy, show_progressbar=False)
    finally:
        del sys.modules[name]
    assert [trial.status for trial in result.trials] == [TrialStatus.SUCCESS] * 4


def test_a_script_whose_tuning_runs_in_a_spawn_child_gets_its_trials(tmp_path):
    # there the script is __mp_main__, which worker processes cannot import
    out = run_script(tmp_path, """
        import multiprocessing
        from ultraopt import fmin

        def objective(config):
            return (config["x"] - 1) ** 2

        def tune():
            result = fmin(objective, {"x": {"_type": "uniform", "_value": [-5.0, 5.0]}}, optimizer="Random",
                          n_iterations=4, n_jobs=2, parallel_strategy="MapReduce", show_progressbar=False)
            print(sorted({trial.status.value for trial in result.trials}), len(result.trials))

        if __name__ == "__main__":
            child = multiprocessing.get_context("spawn").Process(target=tune)
            child.start()
            child.join()
    """)
    assert out.strip() == "['success'] 4"


def test_worker_processes_from_a_pool_worker_are_refused_with_what_to_use(tmp_path):
    out = run_script(tmp_path, """
        import multiprocessing
        from ultraopt import fmin

        def tune(strategy):
            try:
                result = fmin(lambda config: config["x"] ** 2, {"x": {"_type": "uniform", "_value": [-5.0, 5.0]}},
                              optimizer="Random", n_iterations=2, n_jobs=2, parallel_strategy=strategy,
                              show_progressbar=False)
            except RuntimeError as error:
                return str(error)
            return f"{len(result.trials)} trials"

        if __name__ == "__main__":
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                print("\\n".join(pool.map(tune, ["MapReduce", "AsyncComm"])))
    """)
    refused, async_comm = out.strip().splitlines()
    assert "it is daemonic (a multiprocessing.Pool worker, say). Use parallel_strategy='AsyncComm'" in refused
    assert async_comm == "2 trials"
