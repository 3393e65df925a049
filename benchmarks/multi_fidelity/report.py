"""Tables of the multi-fidelity benchmark: regret against budget and virtual time, utilization, the checks."""

from __future__ import annotations

import math
import platform
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from common import ETA, Trajectory, hyperband_total_budget, make_benchmark, median

BUDGET_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1)
RERUN = ("PYTHONPATH=src /work/venv/bin/python benchmarks/multi_fidelity/run.py "
         "--peers-python /work/venv-peers/bin/python")


def fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "inf" if math.isinf(value) else f"{value:.3g}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


class Report:
    """Collects runs and renders the markdown report.

    Parameters
    ----------
    functions : list of str
        The benchmark functions, in report order.
    workers : list of int
        The numbers of virtual workers.
    n_brackets, n_seeds : int
        The run settings, for the text.
    missing : list of str
        Optimizers asked for that UltraOpt does not have yet.
    peers_skipped : bool
        Whether the peers were left out (no ``--peers-python``).
    n_peer_seeds : int or None
        Seeds the peers ran (the first ones of ``n_seeds``); the comparison with HpBandSter uses only those.
    """

    def __init__(self, functions: list[str], workers: list[int], n_brackets: int, n_seeds: int,
                 missing: list[str], peers_skipped: bool, n_peer_seeds: int | None = None):
        self.functions, self.workers = functions, workers
        self.n_brackets, self.n_seeds = n_brackets, n_seeds
        self.n_peer_seeds = n_seeds if n_peer_seeds is None else n_peer_seeds
        self.missing, self.peers_skipped = missing, peers_skipped
        self.labels: list[str] = []
        self.trajectories: dict[tuple[str, str, int], list[Trajectory]] = defaultdict(list)
        self.utilization: dict[tuple[str, str, int], list[float]] = defaultdict(list)
        self.makespan: dict[tuple[str, str, int], list[float]] = defaultdict(list)
        self.total_budget: dict[str, float] = {}
        for function in functions:
            bench = make_benchmark(function, 0)
            self.total_budget[function] = hyperband_total_budget(n_brackets, bench.min_budget, bench.max_budget)
            self.max_budget = bench.max_budget

    def add(self, label: str, function: str, n_workers: int, seed: int, run: dict[str, Any]) -> None:
        """Take one run (see :mod:`common`)."""
        if label not in self.labels:
            self.labels.append(label)
        key = (label, function, n_workers)
        bench = make_benchmark(function, seed)
        self.trajectories[key].append(Trajectory(run["records"], bench.max_budget))
        self.utilization[key].append(run["utilization"])
        self.makespan[key].append(run["makespan"])

    # ------------------------------------------------------------------ pieces
    def _labels(self, n_workers: int) -> list[str]:
        return [label for label in self.labels if self.trajectories.get((label, self.functions[0], n_workers))]

    def regret_at_budget(self, label: str, function: str, n_workers: int, fraction: float,
                         n_seeds: int | None = None) -> float:
        """Median regret after spending ``fraction`` of B, over the first ``n_seeds`` seeds (default: all)."""
        spent = fraction * self.total_budget[function]
        runs = self.trajectories[(label, function, n_workers)][:n_seeds]
        return median([t.at_budget(spent) for t in runs])

    def time_to_stay_below(self, label: str, function: str, n_workers: int, regret: float) -> float:
        """The time from which the median regret curve stays at or below ``regret`` (``inf`` if it ends above).

        "Stays": the incumbent's regret is not monotone (a new largest budget or a lucky noisy loss can replace a
        better incumbent), so the first time it dips below would reward luck.
        """
        runs = self.trajectories[(label, function, n_workers)]
        times = sorted({x for run in runs for x in run.time})
        since = math.inf
        for time in reversed(times):
            if median([run.at_time(time) for run in runs]) > regret:
                break
            since = time
        return since

    def _reference_time(self, function: str, n_workers: int) -> float:
        return max(median(self.makespan[(label, function, n_workers)]) for label in self._labels(n_workers))

    # ------------------------------------------------------------------ sections
    def budget_table(self) -> str:
        rows = []
        for function in self.functions:
            for label in self._labels(1):
                values = [self.regret_at_budget(label, function, 1, f) for f in BUDGET_FRACTIONS]
                rows.append([function, label, *map(fmt, values)])
        header = ["function", "method", *(f"{f:g} B" if f < 1 else "B" for f in BUDGET_FRACTIONS)]
        return table(header, rows)

    def time_table(self, n_workers: int) -> str:
        rows = []
        for function in self.functions:
            reference = self._reference_time(function, n_workers)
            for label in self._labels(n_workers):
                key = (label, function, n_workers)
                values = [median([t.at_time(f * reference) for t in self.trajectories[key]]) for f in BUDGET_FRACTIONS]
                rows.append([function, label, *map(fmt, values), fmt(median(self.makespan[key])),
                             f"{median(self.utilization[key]):.1%}"])
        header = ["function", "method", *(f"{f:g} T" if f < 1 else "T" for f in BUDGET_FRACTIONS),
                  "makespan (median)", "utilization (median)"]
        return table(header, rows)

    def utilization_table(self) -> str:
        rows = []
        for n_workers in self.workers:
            for label in self._labels(n_workers):
                values = [u for f in self.functions for u in self.utilization[(label, f, n_workers)]]
                rows.append([label, str(n_workers), f"{median(values):.1%}", f"{min(values):.1%}"])
        return table(["method", "workers", "median", "min"], rows)

    def bohb_check(self) -> tuple[str, list[str]]:
        peer = "HpBandSter BOHB"
        if peer not in self.labels:
            return "HpBandSter's BOHB was not run (no `--peers-python`).", []
        rows, verdicts = [], []
        for label in self._labels(1):
            if "+HB" not in label:
                continue
            # on the seeds the peer ran, so that both medians are over the same replicates
            n = self.n_peer_seeds
            wins = [f for f in self.functions
                    if self.regret_at_budget(label, f, 1, 1, n) < self.regret_at_budget(peer, f, 1, 1, n)]
            share = len(wins) / len(self.functions)
            rows.append([label, f"{len(wins)}/{len(self.functions)} ({share:.0%})", ", ".join(wins) or "-"])
            if label.startswith("ETPE+HB sync"):
                verdicts.append(f"ETPE+HB (BOHB) beats HpBandSter's BOHB on {share:.0%} of the functions: "
                                + ("holds (>= 80%)" if share >= 0.8 else "does NOT hold (< 80%)"))
        text = table(["method", f"lower median regret than HpBandSter BOHB at B (seeds 0-{self.n_peer_seeds - 1})",
                      "functions"], rows)
        return text, verdicts

    def async_check(self, n_workers: int) -> tuple[str, list[str]]:
        rows, verdicts = [], []
        optimizers = sorted({label.split("+HB")[0] for label in self._labels(n_workers) if "+HB" in label})
        for optimizer in optimizers:
            sync = next(label for label in self.labels if label.startswith(f"{optimizer}+HB sync"))
            asynchronous = f"{optimizer}+HB async"
            faster = 0
            for function in self.functions:
                key = (sync, function, n_workers)
                target = median([t.regret[-1] for t in self.trajectories[key]])
                t_sync = self.time_to_stay_below(sync, function, n_workers, target)
                t_async = self.time_to_stay_below(asynchronous, function, n_workers, target)
                faster += t_async < t_sync
                rows.append([optimizer, function, fmt(target), fmt(t_sync), fmt(t_async),
                             "yes" if t_async < t_sync else "no"])
            utilization = [u for f in self.functions for u in self.utilization[(asynchronous, f, n_workers)]]
            verdicts.append(
                f"{optimizer}+HB async with {n_workers} workers: utilization median {median(utilization):.1%}, "
                f"min {min(utilization):.1%} ({'holds' if min(utilization) >= 0.95 else 'below'} the 95% bar); "
                f"reaches sync's final regret sooner on {faster}/{len(self.functions)} functions")
        header = ["optimizer", "function", "sync final regret (median)", "time: sync", "time: async", "async sooner"]
        return table(header, rows), verdicts

    # ------------------------------------------------------------------ the document
    def render(self, command: str) -> str:
        many = max(self.workers)
        bohb_text, bohb_verdicts = self.bohb_check()
        async_text, async_verdicts = self.async_check(many) if many > 1 else ("", [])
        notes = []
        if self.missing:
            notes.append(f"Not run: optimizer(s) {', '.join(self.missing)} are not in UltraOpt yet "
                         "(`ultraopt.facade.registry.OPTIMIZERS`); re-run the command above once they land.")
        if self.peers_skipped:
            notes.append("Peers not run: pass `--peers-python` with the peers' environment.")
        parts = [
            "# Multi-fidelity benchmark",
            f"Re-run from the repository root:\n\n```\n{RERUN}\n```\n\n(this report: `{command}`)",
            f"Functions: {', '.join(self.functions)} (`ultraopt.benchmarks`, budgets 1/27 to 1, noisy losses, cost = "
            f"budget x (0.5 + slowness)). Hyperband with eta = {ETA}: {self.n_brackets} brackets per run "
            f"(B = {fmt(self.total_budget[self.functions[0]])} max-budget units). Seeds 0-{self.n_seeds - 1} "
            f"(optimizer seed and noise replicate; the peers: seeds 0-{self.n_peer_seeds - 1}, as each of their runs "
            "takes minutes). Regret: noise-free loss at the largest budget of the incumbent (the "
            "best observed loss on the largest budget reached) minus the optimum; medians over seeds. UltraOpt runs on "
            "`SimulatedExecutor` virtual workers whose trials last the reported cost; the peers run with one worker "
            f"(their time is the sum of costs). Python {platform.python_version()}.",
            *notes,
            "How to read it: the Master gives a free worker work from the next bracket whenever the open brackets "
            "have none, so synchronous Hyperband keeps workers nearly as busy as asynchronous promotion does; what "
            "asynchronous promotion changes is how soon good configs reach the larger budgets. The incumbent's regret "
            "is not monotone (a first result on a larger budget, or a lucky noisy loss, replaces a better incumbent). "
            "With Random sampling both modes evaluate the same configs, so their differences are scheduling only.",
            "## Checks",
            *[f"- {verdict}" for verdict in bohb_verdicts + async_verdicts],
            bohb_text,
            f"### Asynchronous against synchronous promotion, {many} workers: virtual time from which the median "
            "regret stays at or below sync's final median regret" if async_text else "",
            async_text,
            "## Median regret against total budget spent (1 worker)",
            "Columns: regret after spending that share of B.",
            self.budget_table(),
        ]
        for n_workers in self.workers:
            parts += [f"## Median regret against virtual wall time ({n_workers} worker{'s' * (n_workers > 1)})",
                      "T: the longest median makespan among the methods on that function.",
                      self.time_table(n_workers)]
        parts += ["## Worker utilization (busy worker-time / (workers x makespan), all functions and seeds)",
                  self.utilization_table()]
        return "\n\n".join(part for part in parts if part) + "\n"
