"""The README's promises: the quickstart runs, and CI runs exactly the README's test command."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    test_command = next(line for block in code_blocks("bash") for line in block.splitlines() if "pytest" in line)
    ci_commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line]
    assert ci_commands == [test_command]


def test_quickstart_runs_as_written(capsys):
    quickstart = next(block for block in code_blocks("python") if "fmin(" in block)
    assert "n_iterations=30" in quickstart
    namespace = {}
    exec(compile(quickstart.replace("n_iterations=30", "n_iterations=3"), "README quickstart", "exec"), namespace)
    result = namespace["result"]
    assert len(result.trials) == 3 and result.best_loss < 0.5
    assert "Optimal Loss" in capsys.readouterr().out


def test_the_multi_fidelity_example_runs_as_written(capsys):
    # one bracket of three configs rather than eight brackets: the code is the README's
    quickstart = next(block for block in code_blocks("python") if "fmin(" in block)
    example = next(block for block in code_blocks("python") if "evaluate_on_budget" in block)
    namespace = {}
    exec(compile(quickstart.replace("n_iterations=30", "n_iterations=1"), "README quickstart", "exec"), namespace)
    shortened = example.replace("min_budget=1 / 27", "min_budget=1 / 3").replace("n_iterations=8", "n_iterations=1")
    exec(compile(shortened, "README multi-fidelity", "exec"), namespace)
    result = namespace["result"]
    assert [trial.budget for trial in result.trials] == [1 / 3] * 3 + [1.0]
    assert all(trial.is_success and trial.loss < 0.5 for trial in result.trials)


@pytest.mark.slow
def test_the_quickstart_prints_the_optimum_the_readme_shows(capsys):
    # seeded, so the README can show what it prints; a change to sampling must update the README
    quickstart = next(block for block in code_blocks("python") if "fmin(" in block)
    exec(compile(quickstart, "README quickstart", "exec"), {})
    shown = re.search(r"`print\(result\)` shows the optimum.*?```\n(.*?)```", README, flags=re.S).group(1)
    assert capsys.readouterr().out.strip().endswith(shown.strip())


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_examples_compile(path):
    compile(path.read_text(), str(path), "exec")
