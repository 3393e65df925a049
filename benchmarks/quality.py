"""Quality benchmark: final regret of ETPE, TPE and Random against Optuna's and Hyperopt's TPE.

Each (optimizer, problem, seed) cell is one optimization of ``max(budgets)`` evaluations; the regret at budget
``B`` is the best loss among its first ``B`` evaluations minus the problem's known optimum (none of the
optimizers knows the total budget, so the first ``B`` evaluations of a longer run are exactly a run of ``B``).
The table shows the median and interquartile range of the regret over seeds for each (problem, budget), and the
mean rank of each optimizer: for each (problem, budget, seed), optimizers are ranked by regret (ties share the
average rank) and the ranks are averaged over everything.

Run from the repository root in an environment with the peers (``pip install -e '.[peers]'``)::

    python -m benchmarks.quality --seeds 20 --budgets 100 200 --jobs 2
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from benchmarks.harness import RESULTS, run_cells
from benchmarks.heldout import HELDOUT_SET
from benchmarks.problems import QUALITY_SET, get_problems

DEFAULT_CONTENDERS = [
    "ETPE", "TPE", "Forest", "GBRT", "Random", "Optuna-TPE", "Optuna-TPE-indep", "Hyperopt-TPE", "SMAC3",
]
def regrets(losses: list[float], budget: int, optimum: float) -> float:
    """Best loss among the first ``budget`` evaluations minus the optimum."""
    finite = [loss for loss in losses[:budget] if np.isfinite(loss)]
    return (min(finite) if finite else np.inf) - optimum


def _format(value: float) -> str:
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


#: (target, reference, tolerated ratio) pairs summarised under the table when both are in it: the claims of
#: the ETPE issue (ETPE against Optuna's default TPE, within 2x) and of the tree-surrogate issue (Forest against
#: Random and against SMAC3, within 1.5x).
COMPARISONS = [("ETPE", "Optuna-TPE", 2.0), ("Forest", "Random", 1.0), ("Forest", "SMAC3", 1.5)]


def build_table(results: dict, specs: list[str], problems: list[str], seeds: list[int], budgets: list[int]) -> str:
    """The markdown table, a summary of each of :data:`COMPARISONS` that applies, and the mean ranks."""
    all_problems = get_problems()
    header = "| problem | budget | " + " | ".join(specs) + " |"
    lines = [header, "|" + "---|" * (len(specs) + 2)]
    ranks: dict[str, list[float]] = {spec: [] for spec in specs}
    medians_by_cell: dict[tuple[str, int], dict[str, float]] = {}
    for problem in problems:
        optimum = all_problems[problem].optimum
        for budget in budgets:
            matrix = np.array([[regrets(results[s, problem, seed], budget, optimum) for seed in seeds] for s in specs])
            for column in matrix.T:
                for spec, rank in zip(specs, rankdata(column)):
                    ranks[spec].append(rank)
            medians = np.median(matrix, axis=1)
            medians_by_cell[problem, budget] = dict(zip(specs, medians))
            q1, q3 = np.percentile(matrix, 25, axis=1), np.percentile(matrix, 75, axis=1)
            best = medians.min()
            cells_text = [
                (f"**{_format(m)}**" if m == best else _format(m)) + f" [{_format(a)}, {_format(b)}]"
                for m, a, b in zip(medians, q1, q3)
            ]
            lines.append(f"| {problem} | {budget} | " + " | ".join(cells_text) + " |")
    mean_ranks = {spec: float(np.mean(r)) for spec, r in ranks.items()}
    lines.append("| **mean rank** | | " + " | ".join(f"{mean_ranks[s]:.2f}" for s in specs) + " |")
    summary = [
        compare(medians_by_cell, target, reference, tolerated, budgets)
        for target, reference, tolerated in COMPARISONS
        if target in specs and reference in specs
    ]
    order = sorted(mean_ranks, key=mean_ranks.get)
    summary.append("Mean rank (1 = best): " + ", ".join(f"{s} {mean_ranks[s]:.2f}" for s in order) + ".")
    return "\n".join(lines) + "\n\n" + "\n".join(summary) + "\n"


def compare(
    medians: dict[tuple[str, int], dict[str, float]], target: str, reference: str, tolerated: float,
    budgets: list[int],
) -> str:
    """One line: on how many cells ``target``'s median regret is at most ``reference``'s (per budget too), the
    worst ratio, and how many cells are within ``tolerated`` times the reference."""
    ratios = {}
    for cell, by_spec in medians.items():
        ours, theirs = by_spec[target], by_spec[reference]
        ratios[cell] = ours / theirs if theirs > 0 else (1.0 if ours <= theirs else np.inf)
    cells = len(ratios)
    wins = sum(ratio <= 1 for ratio in ratios.values())
    per_budget = ", ".join(
        f"{sum(r <= 1 for (_, b), r in ratios.items() if b == budget)}/{len(medians) // len(budgets)} at {budget}"
        for budget in budgets
    )
    within = sum(ratio <= tolerated for ratio in ratios.values())
    worst_cell = max(ratios, key=ratios.get)
    return (
        f"{target} median regret <= {reference}'s on {wins}/{cells} cells ({100 * wins / cells:.0f}%; {per_budget});"
        f" within {tolerated:g}x on {within}/{cells}; worst ratio {ratios[worst_cell]:.2f} "
        f"({worst_cell[0]}, {worst_cell[1]})."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contenders", nargs="+", default=DEFAULT_CONTENDERS)
    parser.add_argument(
        "--set", choices=sorted(PROBLEM_SETS), default="quality",
        help="the problems, notes and default output: the quality set or the held-out one",
    )
    parser.add_argument("--problems", nargs="+", default=None, help="default: those of --set")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--fresh", nargs="*", default=[], help="contenders to recompute instead of reading the cache")
    parser.add_argument("--output", default=None, help="markdown file ('' for none); default: that of --set")
    args = parser.parse_args(argv)
    problem_set = PROBLEM_SETS[args.set]
    problems = args.problems or list(problem_set.problems)
    output = problem_set.output if args.output is None else args.output
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    results = run_cells(args.contenders, problems, seeds, max(args.budgets), args.jobs, args.fresh)
    table = build_table(results, args.contenders, problems, seeds, sorted(args.budgets))
    print(table)
    if output:
        command = "python -m benchmarks.quality " + " ".join(sys.argv[1:] if argv is None else argv)
        text = (
            f"# {problem_set.title}: final regret (median [IQR] over seeds; best median in bold)\n\n"
            f"Made by `{command}`: seeds {seeds[0]}..{seeds[-1]}, regret = best loss of the first *budget* "
            "evaluations minus the known optimum.\n\n" + table + "\n## Notes\n\n" + problem_set.notes + _COMMON_NOTES
        )
        Path(output).write_text(text)


_COMMON_NOTES = """\
- Contenders: `ETPE`, `TPE`, `Forest`, `GBRT`, `Random` (UltraOpt, defaults); `Optuna-TPE` = Optuna 5.0
  `TPESampler(seed=seed)` (multivariate by default in 5.x); `Optuna-TPE-indep` = `TPESampler(multivariate=False)`;
  `Hyperopt-TPE` = Hyperopt 0.3 `tpe.suggest` with defaults; `SMAC3` = SMAC3 2.x `HyperparameterOptimizationFacade`
  with its defaults (see `benchmarks/smac3_adapter.py`).
- Translation limits: Optuna gets the space define-by-run in topological order (conditional hyperparameters are
  suggested only when active; ordinals become categoricals, so their order is lost; log together with a q-step
  is not expressible and drops the log). Hyperopt gets nested `hp.choice` branches for conditions on a
  categorical parent; integers are `quniform`/`qloguniform` with step 1; ordinals become `hp.choice`. SMAC3 takes
  the ConfigSpace space as is. Forbidden clauses are expressible in neither Optuna nor Hyperopt (no problem here
  has one).
- Mean rank: optimizers ranked by regret within each (problem, budget, seed), averaged over all of them.
- Budgets: each cell is one run of the largest budget; the regret at a smaller budget is read from its first
  evaluations (no optimizer here knows the total budget, so this equals a shorter run).
"""

_QUALITY_NOTES = """\
- Problems: the nine functions of `benchmarks/problems.py` `QUALITY_SET` (from `ultraopt.benchmarks`), fixed
  before any result: six continuous test functions, `levy10d`, `categorical20` (a 20-choice categorical whose
  choices have a hidden order, plus two continuous dimensions) and `cash` (a conditional model choice with
  sub-spaces two levels deep).
- Held-out seeds: our defaults were chosen on seeds 100-139 of these problems (ETPE's choice between its joint
  and independent models; Forest's leaf size and local-search steps on 100-111); the tables use seeds from 0.
  `quality_heldout.md` has problems that no tuning saw. ETPE's `group_champion_trials` (conditional spaces
  only) was chosen later on seeds 100-259 of `cash_decoy` (`quality_cash_decoy.md`), of a six-branch CASH
  problem and of the held-out `nn_conditional`; of this table it only touches `cash`, by less than its noise.
- `categorical20` is bimodal: a run either finds the optimal category or settles in a deceptive one (regret
  about 0.12 or 0.21), so its median over 20 seeds turns on one or two seeds; read the IQR with it. At 100
  evaluations ETPE found it (regret < 0.01) on 53% of the tuning seeds 100-139, Optuna's TPE on 38%; on the
  held-out seeds 0-19 the shares are 45% and 60%. Over seeds 0-199 (`quality_categorical20_200seeds.md`, made
  after this table, nothing tuned on it) the shares are ETPE 56%, Optuna's TPE 46%, Hyperopt's 16%, and the
  medians 0.00396, 0.0289 and 0.0977: the 13x of this table's cell is the luck of 20 seeds.
- `cash`: the optimum (the svm branch's narrow ridge in log C + log gamma) was found by no optimizer here; the
  model-based ones settle in the forest branch (regret 0.04), which is broad and easy.
"""

_HELDOUT_NOTES = """\
- Problems: the eight of `benchmarks/heldout.py` `HELDOUT_SET`, written after all our defaults were chosen
  and never used to choose anything but one later setting: two library functions outside the quality set, three
  more continuous ones (5 to 8 dimensions), an integer lattice, a mixed log/integer/categorical space and a
  conditional one (see the module docstring).
  They check that the defaults tuned on the quality set (`quality.md`) carry over. The exception: seeds 100-259
  of `nn_conditional` were among those that chose ETPE's `group_champion_trials` (conditional spaces only), so
  for that setting its cells here are not a held-out check; it moved ETPE's median at 100 evaluations from
  1.22e-03 to 4.38e-04 and left every other problem of this table as it was.
- `nn_conditional` is bimodal: a run that settles on SGD without Nesterov, or on Adam, stays about 0.005 or 0.01
  above the optimum, so its median over 20 seeds turns on one or two seeds (read the IQR with it). On seeds
  100-259 ETPE comes within 0.005 of the optimum at 100 evaluations in 54% of the runs (53% without
  `group_champion_trials`).
- The first version of this table (ETPE <= Optuna's TPE on 15/16 cells) was made before two changes: ETPE now
  draws every point of an integer or grid hyperparameter as often as the others (the end points had half a
  share), and peers' configs go through `peer_loss`; `mlp7`, `nn_conditional` and `integer_lattice5` moved,
  Optuna's cells on the first two most.
- Made again after ETPE's and TPE's uniform draws stopped stretching log-scale integer columns by half a step at
  both ends (log grids keep the log-uniform mass nearest each point, as random sampling does): only the ETPE and
  TPE cells of `mlp7` and `nn_conditional`, the two problems with log-scale integers, moved; every other cell
  came out as before, on another machine.
"""


@dataclass(frozen=True)
class ProblemSet:
    """The problems of a table, its default output file, its title and the notes on its problems."""

    title: str
    problems: dict[str, str]
    output: str
    notes: str


PROBLEM_SETS = {
    "quality": ProblemSet("Quality", QUALITY_SET, str(RESULTS / "quality.md"), _QUALITY_NOTES),
    "heldout": ProblemSet(
        "Quality on held-out problems", HELDOUT_SET, str(RESULTS / "quality_heldout.md"), _HELDOUT_NOTES
    ),
}


if __name__ == "__main__":
    main()
