"""SMAC-style Bayesian optimization with a tree surrogate: the loop shared by Forest and GBRT.

Each proposal, after an initial random design:

1. picks the model budget: the largest budget with at least ``n_initial`` successful results (BOHB);
2. fits a :class:`~ultraopt.learning.acquisition.LossTransform` to that budget's losses (log-scaled by
   default; failures imputed as the worst transformed loss) and the surrogate to the encoded configs (inactive
   hyperparameters imputed outside ``[0, 1]``) and the transformed losses;
3. adds the pending configs as fake observations — the model's own mean there (kriging believer) or the worst
   transformed loss (constant liar) — and refits, so that a batch or parallel asks spread out;
4. scores uniform random candidates and the results of a one-exchange local search (started from the observed
   configs and the random candidates of highest acquisition value, as SMAC) with (log-)expected improvement
   against the incumbent *on the transformed scale*, and proposes the best candidate that is new.

A share ``random_fraction`` of the model-phase proposals is uniform random instead (every ``1/random_fraction``-th
one, deterministically), as SMAC interleaves random configs to keep its convergence guarantee.

The subclasses differ only in :meth:`TreeSMBOOptimizer._make_surrogate`.
"""

from __future__ import annotations

import logging
import math
from abc import abstractmethod
from typing import Any, Literal

import numpy as np

from ultraopt.checks import Rules, check_settings, is_int, is_number
from ultraopt.learning.acquisition import LossTransform, expected_improvement, log_expected_improvement
from ultraopt.learning.design import sobol_rows
from ultraopt.learning.encoding import SpaceEncoder
from ultraopt.learning.local_search import local_search, sample_rows
from ultraopt.learning.surrogates import Surrogate
from ultraopt.optimizer.base_opt import BaseOptimizer, Proposal

__all__ = ["TreeSMBOOptimizer"]

logger = logging.getLogger(__name__)

# How many of the best-scored candidates to decode while looking for a config never proposed before.
_MAX_DECODE_TRIES = 64
# Bounds of the default initial design size, n_hyperparameters + 1.
_MIN_INITIAL, _MAX_INITIAL = 8, 25

_SETTINGS: Rules = {
    "n_initial": (lambda v: v is None or is_int(v, 1), "a positive int or None"),
    "random_fraction": (lambda v: is_number(v, 0.0, 1.0, high_open=True), "a number in [0, 1)"),
    "xi": (lambda v: is_number(v, -math.inf), "a finite number"),
    "n_random_candidates": (lambda v: is_int(v, 1), "a positive int"),
    "n_local_starts": (lambda v: is_int(v, 1), "a positive int"),
    "local_search_steps": (lambda v: is_int(v, 1), "a positive int"),
    "local_search_min_step": (lambda v: v is None or is_number(v, 0.0, low_open=True), "None or a positive number"),
}


class TreeSMBOOptimizer(BaseOptimizer):
    """Base of the tree-surrogate optimizers (:class:`ForestOptimizer`, :class:`GBRTOptimizer`).

    Parameters
    ----------
    n_initial : int or None
        Random configs before the model takes over, and the number of successful results a budget needs for
        its own model. ``None``: ``n_hyperparameters + 1`` (enough rows for a first split on every dimension),
        at least 8 and at most 25, so that most of a 100-evaluation run is left to the model even in a wide
        space (SMAC3 caps its initial design at a quarter of the trials).
    random_fraction : float
        Share of the model-phase proposals drawn uniformly at random instead (SMAC uses 0.2).
    transform : {"log", "identity"}
        Scale of the model's targets; see :class:`~ultraopt.learning.acquisition.LossTransform`.
    acquisition : {"log_ei", "ei"}
        Log expected improvement (same ranking as EI, but it keeps ranking where EI underflows) or plain EI.
    xi : float
        Exploration margin of EI, on the transformed scale.
    pending : {"kriging_believer", "constant_liar"}
        What pending configs count as: the model's mean there, or the worst transformed loss.
    n_random_candidates : int
        Uniform random candidates scored per proposal.
    n_local_starts : int
        Local searches per proposal; half start from observed configs, half from the best random candidates.
    local_starts_by : {"loss", "acquisition"}
        Which observed configs local searches start from: those of lowest loss, or those of highest acquisition
        value (SMAC's choice, which also revisits uncertain regions, e.g. another branch of a conditional space).
    local_search_steps : int
        Moves per local search at most.
    initial_design : {"random", "sobol"}
        The first ``n_initial`` configs: uniform random, or the first points of a scrambled Sobol sequence
        (spread evenly along every column: each option of a choice of ``k`` is tried once ``n_initial`` reaches
        ``2 k``; SMAC3's design).
    local_search_min_step : float or None
        Smallest scale of the local search's numerical steps (every other move draws its scale log-uniformly
        between this and 0.2); ``None``: every step has scale 0.2, as SMAC.
    """

    name = "TreeSMBO"

    def __init__(
        self,
        n_initial: int | None = None,
        random_fraction: float = 0.2,
        transform: Literal["log", "identity"] = "log",
        acquisition: Literal["log_ei", "ei"] = "log_ei",
        xi: float = 0.0,
        pending: Literal["kriging_believer", "constant_liar"] = "kriging_believer",
        n_random_candidates: int = 1000,
        n_local_starts: int = 10,
        local_search_steps: int = 30,
        local_starts_by: Literal["loss", "acquisition"] = "acquisition",
        initial_design: Literal["random", "sobol"] = "random",
        local_search_min_step: float | None = None,
    ):
        super().__init__()
        check_settings(locals(), _SETTINGS)
        if acquisition not in ("log_ei", "ei"):
            raise ValueError(f"acquisition must be 'log_ei' or 'ei', got {acquisition!r}")
        if pending not in ("kriging_believer", "constant_liar"):
            raise ValueError(f"pending must be 'kriging_believer' or 'constant_liar', got {pending!r}")
        LossTransform(transform)  # validates the kind
        self.n_initial = n_initial
        self.random_fraction = random_fraction
        self.transform = transform
        self.acquisition = acquisition
        self.xi = xi
        self.pending = pending
        self.n_random_candidates = n_random_candidates
        self.n_local_starts = n_local_starts
        self.local_search_steps = local_search_steps
        if local_starts_by not in ("loss", "acquisition"):
            raise ValueError(f"local_starts_by must be 'loss' or 'acquisition', got {local_starts_by!r}")
        self.local_starts_by = local_starts_by
        if initial_design not in ("random", "sobol"):
            raise ValueError(f"initial_design must be 'random' or 'sobol', got {initial_design!r}")
        self.initial_design = initial_design
        self.local_search_min_step = local_search_min_step

    @abstractmethod
    def _make_surrogate(self) -> Surrogate:
        """A new, unfitted surrogate."""

    # ------------------------------------------------------------------ protocol hooks
    def _on_initialize(self) -> None:
        self.encoder = SpaceEncoder(self.config_space)
        n_free = sum(dim.kind != "constant" for dim in self.encoder.dimensions)
        default_initial = min(max(n_free + 1, _MIN_INITIAL), _MAX_INITIAL)
        self.n_initial_ = self.n_initial if self.n_initial is not None else default_initial
        self._rows: dict[float, list[np.ndarray]] = {}
        self._matrix_cache: dict[float, np.ndarray] = {}
        self._fit_cache: tuple[tuple[float, int], Surrogate, LossTransform] | None = None
        self._n_model_phase = 0
        self._design: list[dict[str, Any]] = []
        if self.initial_design == "sobol":
            self._design = [self.encoder.decode(row) for row in sobol_rows(self.encoder, self.n_initial_, self.rng)]

    def _observe(self, config: dict[str, Any], loss: float, budget: float) -> None:
        self._rows.setdefault(budget, []).append(self.encoder.encode(config))

    def _propose(self, budget: float) -> Proposal:
        model_budget = self._model_budget()
        if model_budget is None:
            while self._design:
                config = self._design.pop(0)
                if self.is_new(config):
                    return config, {"origin": "initial design"}
            return self.sample_random(1)[0], {"origin": "initial design"}
        phase = self._n_model_phase
        self._n_model_phase += 1
        if math.floor((phase + 1) * self.random_fraction) > math.floor(phase * self.random_fraction):
            return self.sample_random(1)[0], {"origin": "random"}
        surrogate, transform = self._fit(model_budget)
        found = self._maximize_acquisition(surrogate, transform, model_budget)
        if found is None:
            return self.sample_random(1)[0], {"origin": "random", "reason": "no new candidate"}
        config, value = found
        return config, {"origin": "model", "model_budget": model_budget, "acquisition": value}

    # ------------------------------------------------------------------ model
    def _model_budget(self) -> float | None:
        """The largest budget with at least ``n_initial_`` successful results, if any (BOHB)."""
        ready = [b for b, obs in self.observations.items() if obs.n_successes >= self.n_initial_]
        return max(ready) if ready else None

    def _matrix(self, budget: float) -> np.ndarray:
        rows = self._rows[budget]
        cached = self._matrix_cache.get(budget)
        if cached is None or len(cached) != len(rows):
            start = 0 if cached is None else len(cached)
            new = np.vstack(rows[start:])
            cached = new if cached is None else np.vstack([cached, new])
            self._matrix_cache[budget] = cached
        return cached

    def _seed(self) -> int:
        return int(self.rng.integers(2**31 - 1))

    def _fit(self, budget: float) -> tuple[Surrogate, LossTransform]:
        """The surrogate of ``budget``'s results plus fake results at the pending configs."""
        matrix = self._matrix(budget)
        key = (budget, len(matrix))
        if self._fit_cache is not None and self._fit_cache[0] == key:
            _, surrogate, transform = self._fit_cache
        else:
            transform = LossTransform(self.transform).fit(self.observations[budget].loss_array())
            surrogate = self._make_surrogate().fit(matrix, transform.targets, seed=self._seed())
            self._fit_cache = (key, surrogate, transform)
        pending = self.pending_configs
        if not pending:
            return surrogate, transform
        pending_rows = self.encoder.encode_many(pending)
        if self.pending == "kriging_believer":
            fake = surrogate.predict(pending_rows)[0]
        else:
            fake = np.full(len(pending_rows), transform.targets.max())
        believed = self._make_surrogate().fit(
            np.vstack([matrix, pending_rows]), np.concatenate([transform.targets, fake]), seed=self._seed()
        )
        return believed, transform

    def _score(self, surrogate: Surrogate, transform: LossTransform, matrix: np.ndarray) -> np.ndarray:
        """The acquisition value of encoded rows (higher is better), against the transformed incumbent."""
        if not len(matrix):  # forbidden clauses can reject every candidate, and scikit-learn refuses no rows
            return np.empty(0)
        mean, std = surrogate.predict(matrix)
        if self.acquisition == "ei":
            return expected_improvement(mean, std, transform, self.xi)
        return log_expected_improvement(mean, std, transform, self.xi)

    def _maximize_acquisition(
        self, surrogate: Surrogate, transform: LossTransform, budget: float
    ) -> tuple[dict[str, Any], float] | None:
        """The best-scoring new config among random candidates and local-search results, with its score."""

        def score(matrix: np.ndarray) -> np.ndarray:
            return self._score(surrogate, transform, matrix)

        random_rows = sample_rows(self.encoder, self.n_random_candidates, self.rng)
        random_scores = score(random_rows)
        n_from_best = (self.n_local_starts + 1) // 2
        observed = self._matrix(budget)
        ranking = transform.targets if self.local_starts_by == "loss" else -score(observed)
        best_observed = observed[np.argsort(ranking, kind="stable")[:n_from_best]]
        best_random = random_rows[np.argsort(-random_scores, kind="stable")[: self.n_local_starts - n_from_best]]
        starts = np.vstack([best_observed, best_random])
        local_rows, local_scores = local_search(
            self.encoder, starts, score, self.rng, max_steps=self.local_search_steps,
            min_step=self.local_search_min_step,
        )
        rows = np.vstack([local_rows, random_rows])
        scores = np.concatenate([local_scores, random_scores])
        for index in np.argsort(-scores, kind="stable")[:_MAX_DECODE_TRIES]:
            config = self.encoder.decode(rows[index])
            if self.is_new(config):
                return config, float(scores[index])
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_initial={self.n_initial}, random_fraction={self.random_fraction})"
