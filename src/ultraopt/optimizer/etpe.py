"""ETPE: a multivariate Tree Parzen Estimator over the encoded space, with embedded many-choice categoricals.

See :class:`ETPEOptimizer`. The numerics live in :mod:`ultraopt.learning` (``parzen``, ``embedding``,
``kernel_space``, ``design``, ``history``); this module holds the optimizer's decisions: which budget's model
proposes, how observations are split and weighted, and how a proposal is chosen among candidates.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from ultraopt.checks import Rules, check_settings, is_int, is_number
from ultraopt.hdl.configs import config_key
from ultraopt.learning.design import initial_design
from ultraopt.learning.embedding import embed_choices, loss_ranks
from ultraopt.learning.encoding import SpaceEncoder
from ultraopt.learning.history import GrowingArrays
from ultraopt.learning.kernel_space import KernelSpace
from ultraopt.learning.parzen import ParzenEstimator
from ultraopt.optimizer.base_opt import BaseOptimizer, Proposal

__all__ = ["CLASSIC_TPE", "CLASSIC_TPE_CANDIDATES", "ETPEOptimizer", "default_gamma", "ramp_weights"]

logger = logging.getLogger(__name__)

# Rows drawn uniformly once per run to estimate how likely uniform sampling lands in each group.
_GROUP_PRIOR_SAMPLES = 2048
# Candidates looked at, best first, before a model proposal counts as a repeat.
_CANDIDATES_CHECKED = 8
# Times the bandwidths are doubled when every checked candidate repeats a known config.
_WIDENINGS = 4
# Rounds of candidate draws at most, while forbidden clauses reject more than half of them.
_CANDIDATE_ROUNDS = 16

#: Settings of the classic independent TPE (Bergstra et al., 2011): one density per hyperparameter with one
#: Scott-like bandwidth each, no embedding. :class:`~ultraopt.optimizer.tpe.TPEOptimizer` and ETPE's
#: independent proposals (``independent_fraction``) use them.
CLASSIC_TPE: dict[str, Any] = {
    "multivariate": False,
    "bandwidth": "scott",
    "bandwidth_factor": 1.0,
    "min_bandwidth": 0.01,
    "embedding_min_choices": None,
}
#: Candidates per proposal of the classic TPE.
CLASSIC_TPE_CANDIDATES = 24
# ``independent_fraction="adaptive"``: the share of independent proposals is one of these, so that neither model
# stops proposing (and its success rate stays known).
_ADAPTIVE_SHARE_BOUNDS = (0.15, 0.85)


_BANDWIDTH_RULES = ("neighbor", "scott")
# The constructor's checks: what each numerical setting must be, so that a bad one fails at once rather than at
# the first model proposal, after the initial design ran.
_SETTINGS: Rules = {
    "n_startup_trials": (lambda v: is_int(v, 0), "a non-negative int"),
    "n_candidates": (lambda v: is_int(v, 1), "a positive int"),
    "prior_weight": (lambda v: is_number(v, 0.0), "a non-negative number"),
    "neighbor_clip": (lambda v: is_number(v, 0.0, low_open=True), "a positive number"),
    "bandwidth_factor": (lambda v: is_number(v, 0.0, low_open=True), "a positive number"),
    "min_bandwidth": (lambda v: is_number(v, 0.0), "a non-negative number"),
    "min_bandwidth_steps": (lambda v: is_number(v, 0.0), "a non-negative number"),
    "bandwidth_prior": (lambda v: is_number(v, 0.0), "a non-negative number"),
    "adaptive_bandwidth": (lambda v: is_number(v, 0.0), "a non-negative number"),
    "bad_bandwidth_factor": (lambda v: is_number(v, 0.0, low_open=True), "a positive number"),
    "random_fraction": (lambda v: is_number(v, 0.0, 1.0), "a number in [0, 1]"),
    "n_recent": (lambda v: is_int(v, 1), "a positive int"),
    "embedding_min_choices": (lambda v: v is None or is_int(v, 2), "None or an int of at least 2"),
    "embedding_dims": (lambda v: is_int(v, 1), "a positive int"),
    "embedding_min_trials": (lambda v: v is None or is_int(v, 1), "None or a positive int"),
    "max_kernels": (lambda v: is_int(v, 1), "a positive int"),
    "min_points_in_model": (lambda v: v is None or is_int(v, 1), "None or a positive int"),
    "bandwidth": (lambda v: v in _BANDWIDTH_RULES, f"one of {_BANDWIDTH_RULES}"),
    "bad_bandwidth": (lambda v: v is None or v in _BANDWIDTH_RULES, f"None or one of {_BANDWIDTH_RULES}"),
    "group_champion_trials": (lambda v: is_number(v, 0.0), "a non-negative number"),
    "independent_fraction": (lambda v: v == "adaptive" or is_number(v, 0.0, 1.0), "in [0, 1] or 'adaptive'"),
}


def default_gamma(n: int) -> int:
    """Number of good observations among ``n``: ``min(ceil(0.1 n), 25)``, at least 1 (Optuna's rule)."""
    return max(1, min(math.ceil(0.1 * n), 25))


def ramp_weights(n: int, n_recent: int = 25) -> np.ndarray:
    """Weights of ``n`` observations, oldest first: the ``n_recent`` newest weigh 1, older ones ramp up from
    ``1/n`` (Optuna's and Hyperopt's forgetting of old observations)."""
    if n <= n_recent:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - n_recent), np.ones(n_recent)])


def _n_good(gamma: Callable[[int], int], n: int) -> int:
    """``gamma(n)`` within ``[min(1, n), n]``; a ``ValueError`` names ``gamma`` when it is not an int."""
    n_good = gamma(n)
    if isinstance(n_good, bool) or not isinstance(n_good, (int, np.integer)):
        raise ValueError(f"gamma(n_successes) must return an int (the number of good observations), but gamma({n}) "
                         f"returned {n_good!r}; for a share, use e.g. lambda n: math.ceil(0.25 * n)")
    return int(min(max(n_good, 1), n))


def _group_champions(ranked: np.ndarray, n_good: int, group: np.ndarray) -> np.ndarray:
    """The best observation of every group without one among the ``n_good`` best, best first, at most ``n_good``.

    ``ranked``: the successful observations, best first; ``group``: the group of every observation.
    """
    _, first = np.unique(group[ranked], return_index=True)
    return ranked[np.sort(first[first >= n_good])[:n_good]]


def _weighted_subsample(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct indices drawn with probabilities proportional to ``weights`` (positive), without
    replacement: the ``k`` largest keys ``log(u) / w`` (Efraimidis and Spirakis, 2006), linear in
    ``len(weights)`` where ``Generator.choice(replace=False, p=...)`` loops."""
    keys = np.log(rng.random(len(weights))) / weights
    return np.argpartition(keys, -k)[-k:]


class ETPEOptimizer(BaseOptimizer):
    """Embedding Tree Parzen Estimator: multivariate TPE over mixed and conditional spaces (``fmin``'s default).

    The observations of a budget are split by loss into good (the best ``gamma(n)``) and bad ones. A Parzen
    estimator is fitted to each (:class:`~ultraopt.learning.parzen.ParzenEstimator`): joint kernels over the
    hyperparameters that are active together, one bandwidth per numerical dimension, a categorical kernel per
    categorical (embedded, for many choices, into a few dimensions learned from the losses), and a uniform prior
    component. ``n_candidates`` candidates are drawn from the good density ``l`` and the one with the highest
    ``l(x) / g(x)`` not proposed before is proposed. Pending proposals join the bad observations (constant liar),
    so parallel asks spread out. With several budgets, the model of the largest budget with at least
    ``min_points_in_model`` successful observations proposes (BOHB). Some model proposals come from the classic
    independent TPE of the same observations instead; by default Thompson sampling on each model's record decides
    which (``independent_fraction``).

    Parameters
    ----------
    n_startup_trials : int
        Size of the initial design (Latin hypercube, every choice of each top-level categorical at least once:
        the design grows to the largest number of such choices, up to ``3 * n_startup_trials``, so that a
        categorical of 200 choices does not make the first 200 trials random).
    n_candidates : int
        Candidates drawn from ``l`` per proposal.
    gamma : callable
        ``gamma(n_successes) -> n_good``; by default :func:`default_gamma`.
    prior_weight : float
        Weight of the uniform prior component of both densities, relative to one observation.
    bandwidth : {"neighbor", "scott"}
        Rule of the numerical bandwidths of the good density (:mod:`ultraopt.learning.parzen`): per-kernel gaps
        to the neighbouring kernels (the default, sharp where good points crowd), or one Scott-like bandwidth
        per dimension.
    bad_bandwidth : {"neighbor", "scott"} or None
        Rule of the bad density; ``None`` takes ``bandwidth``.
    neighbor_clip : float
        ``"neighbor"`` rule: no bandwidth is below ``1 / min(neighbor_clip, n_kernels + 2)`` (Optuna's magic
        clip uses 100; a larger value lets long runs sharpen further).
    bandwidth_factor : float
        Multiplies the bandwidths of the numerical dimensions.
    min_bandwidth : float
        Smallest bandwidth of a numerical dimension on ``[0, 1]``.
    min_bandwidth_steps : float
        Smallest bandwidth of an integer, q-grid or ordinal dimension, in grid steps.
    bandwidth_prior : float
        Uniform pseudo-points pooled into the spread that sets a bandwidth.
    adaptive_bandwidth : float
        Abramson exponent of the per-kernel bandwidth multipliers of the bad density (``0`` for one bandwidth
        per dimension): where many bad points crowd, ``g`` gets sharper, so that ``l / g`` pushes proposals
        off ground already covered.
    bad_bandwidth_factor : float
        Multiplies the bandwidths of the bad density (below 1: a sharper ``g`` that repels proposals from
        evaluated points).
    random_fraction : float
        Share of proposals drawn uniformly at random (robustness against a misleading model).
    n_recent : int
        Bad observations older than the ``n_recent`` newest weigh less and less (ramp weights).
    embedding_min_choices : int or None
        Categoricals with at least this many choices are embedded; ``None`` never embeds.
    embedding_dims : int
        Dimensions of an embedding (at most 3, and fewer than the choices).
    embedding_min_trials : int or None
        Successful observations needed before embedding; by default twice the number of choices.
    max_kernels : int
        At most this many bad observations make kernels; beyond, a weighted subsample is taken per proposal
        (keeps ``ask`` cost flat on long runs).
    min_points_in_model : int or None
        Successful observations a budget needs before its model proposes; by default ``n_startup_trials``.
    constant_liar : bool
        Count pending proposals as bad observations.
    multivariate : bool
        Joint kernels; ``False`` gives the independent TPE (:class:`~ultraopt.optimizer.tpe.TPEOptimizer`).
    independent_fraction : float or "adaptive"
        Share of the model proposals made by the classic independent TPE (:data:`CLASSIC_TPE`) from the same
        observations, chosen at random per proposal. The two models err differently: joint kernels follow
        correlated valleys (Rosenbrock, Hartmann), independent ones recombine good values of nearly separable
        dimensions and spread over the choices of a many-choice categorical; taking turns, each learns from the
        other's results. ``"adaptive"`` (the default): Thompson sampling on how often each model's proposals
        turned out good (a loss among the best ``gamma`` of its budget when told); the model that wins the draw
        proposes with probability 0.85, so the other keeps a share of 0.15 at least. ``0``: joint kernels only.
    group_champion_trials : float
        Conditional spaces: the best observation of every group (hyperparameters active together, such as one
        model of a CASH choice) with none among the good ones joins the good density (at most as many as there
        are good ones), with weight ``min(1, group_champion_trials / n)`` for a group of ``n`` observations. A
        branch whose first few points happened to be poor keeps a kernel at its best point and is still
        refined, rather than left to the prior while the good ones pull every proposal into another branch (the
        best model of a CASH space often looks worse at first); a branch tried many times without reaching the
        good ones fades. ``0``: the plain split.

    Examples
    --------
    >>> from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter
    >>> space = ConfigurationSpace()
    >>> _ = space.add(UniformFloatHyperparameter("x", -5, 5))
    >>> opt = ETPEOptimizer()
    >>> opt.initialize(space, random_state=0)
    >>> for _ in range(30):
    ...     config, info = opt.ask()
    ...     opt.tell(config, (config["x"] - 1) ** 2)
    """

    name = "ETPE"

    def __init__(
        self,
        n_startup_trials: int = 10,
        n_candidates: int = 64,
        gamma: Callable[[int], int] = default_gamma,
        prior_weight: float = 1.0,
        bandwidth: str = "neighbor",
        bad_bandwidth: str | None = None,
        neighbor_clip: float = 300.0,
        bandwidth_factor: float = 0.7,
        min_bandwidth: float = 0.001,
        min_bandwidth_steps: float = 1.0,
        bandwidth_prior: float = 1.0,
        adaptive_bandwidth: float = 0.0,
        bad_bandwidth_factor: float = 1.0,
        random_fraction: float = 0.05,
        n_recent: int = 25,
        embedding_min_choices: int | None = 6,
        embedding_dims: int = 2,
        embedding_min_trials: int | None = None,
        max_kernels: int = 256,
        min_points_in_model: int | None = None,
        constant_liar: bool = True,
        multivariate: bool = True,
        independent_fraction: float | Literal["adaptive"] = "adaptive",
        group_champion_trials: float = 5.0,
    ) -> None:
        super().__init__()
        check_settings(locals(), _SETTINGS)
        if not callable(gamma):
            raise ValueError(f"gamma must be a callable gamma(n_successes) -> n_good such as "
                             f"lambda n: math.ceil(0.25 * n), got {gamma!r}")
        _n_good(gamma, 10)  # a gamma returning a float fails here, not after the initial design
        self.n_startup_trials = n_startup_trials
        self.n_candidates = n_candidates
        self.gamma = gamma
        self.prior_weight = prior_weight
        self.bandwidth = bandwidth
        self.bad_bandwidth = bad_bandwidth
        self.neighbor_clip = neighbor_clip
        self.bandwidth_factor = bandwidth_factor
        self.min_bandwidth = min_bandwidth
        self.min_bandwidth_steps = min_bandwidth_steps
        self.bandwidth_prior = bandwidth_prior
        self.adaptive_bandwidth = adaptive_bandwidth
        self.bad_bandwidth_factor = bad_bandwidth_factor
        self.random_fraction = random_fraction
        self.n_recent = n_recent
        self.embedding_min_choices = embedding_min_choices
        self.embedding_dims = embedding_dims
        self.embedding_min_trials = embedding_min_trials
        self.max_kernels = max_kernels
        self.min_points_in_model = min_points_in_model
        self.constant_liar = constant_liar
        self.multivariate = multivariate
        self.independent_fraction = independent_fraction
        self.group_champion_trials = group_champion_trials

    # ------------------------------------------------------------------ set-up
    def _on_initialize(self) -> None:
        self.encoder = SpaceEncoder(self.config_space)
        self.kernel_space = KernelSpace(self.encoder)
        self._history: dict[float, GrowingArrays] = {}
        self._n_successes: dict[float, int] = {}
        self._rows: dict[Any, tuple[np.ndarray, np.ndarray]] = {}  # config key -> model rows of our proposals
        self._bandwidth_scale = 1.0
        self._proposed_by: dict[Any, str] = {}  # config key -> model ("joint", "independent") of a model proposal
        # good results and results of each model's proposals, with a uniform Beta(1, 1) prior
        self._model_record = {"joint": [1.0, 2.0], "independent": [1.0, 2.0]}
        self._group_log_prior = self._estimate_group_prior()
        self._design = deque(self._make_design())
        self._design_size = len(self._design)

    def _estimate_group_prior(self) -> np.ndarray | None:
        space = self.kernel_space
        if not space.conditional:
            return None
        num, cat, _ = space.legalize(*space.uniform(_GROUP_PRIOR_SAMPLES, self.rng), self.rng)
        counts = np.bincount(space.groups(num, cat)).astype(float)
        return np.log(np.maximum(counts, 0.5) / _GROUP_PRIOR_SAMPLES)

    def _make_design(self) -> list[dict[str, Any]]:
        space = self.kernel_space
        top_level = [
            int(n)
            for column, n in zip(space.cat_columns, space.n_choices)
            if not self.config_space.parent_conditions_of[self.encoder.names[column]]
        ]
        n = max(self.n_startup_trials, *(min(choices, 3 * self.n_startup_trials) for choices in top_level), 0)
        num, cat, allowed = space.legalize(*initial_design(space, n, self.rng), self.rng)
        configs: dict[Any, dict[str, Any]] = {}
        for i in np.flatnonzero(allowed):
            config = self._remember(num[i], cat[i])
            configs.setdefault(config_key(config), config)
        return list(configs.values())

    # ------------------------------------------------------------------ protocol
    def _observe(self, config: dict[str, Any], loss: float, budget: float) -> None:
        rows = self._rows.get(config_key(config))
        if rows is None:
            num, cat = self.kernel_space.split(self.encoder.encode(config))
            rows = (num[0], cat[0])
        if budget not in self._history:
            space = self.kernel_space
            self._history[budget] = GrowingArrays(
                {
                    "num": ((space.n_num,), float, np.nan),
                    "cat": ((space.n_cat,), np.int64, -1),
                    "group": ((), np.int64, 0),
                    "loss": ((), float, np.inf),
                }
            )
            self._n_successes[budget] = 0
        model = self._proposed_by.pop(config_key(config), None)
        if model is not None:
            self._score_model(model, loss, budget)
        group = self.kernel_space.groups(rows[0][None, :], rows[1][None, :])[0]
        self._history[budget].append(num=rows[0], cat=rows[1], group=group, loss=loss)
        self._n_successes[budget] += math.isfinite(loss)

    def _propose(self, budget: float) -> Proposal:
        # the design stands in for the first results (on any budget, ours or not): as many told by a warm start or
        # a resumed run replace it
        n_told = sum(len(history) for history in self._history.values())
        while self._design and n_told < self._design_size:
            config = self._design.popleft()
            if self.is_new(config):
                return config, {"origin": "initial design"}
        model_budget = self._model_budget()
        if model_budget is None or self.rng.random() < self.random_fraction:
            return self._random_proposal()
        proposal = self._model_proposal(model_budget)
        return proposal if proposal is not None else self._random_proposal()

    # ------------------------------------------------------------------ model
    def _score_model(self, model: str, loss: float, budget: float) -> None:
        """Count whether a model proposal's result is good: among the best ``gamma`` results of its budget."""
        losses = self._history[budget]["loss"]
        finite = losses[np.isfinite(losses)]
        if not math.isfinite(loss):
            good = False
        elif len(finite) == 0:
            good = True
        else:  # the gamma-th smallest loss, without sorting the whole history on every tell
            k = _n_good(self.gamma, len(finite)) - 1
            good = loss <= np.partition(finite, k)[k]
        record = self._model_record[model]
        record[0] += good
        record[1] += 1

    def _independent_share(self) -> float:
        """Probability that the next model proposal comes from the classic independent TPE.

        ``"adaptive"``: Thompson sampling between the two models, each with a Beta posterior of the rate at which
        its proposals turn out good; the model that wins the draw proposes with probability 0.85.
        """
        if self.independent_fraction != "adaptive":
            return float(self.independent_fraction)
        draws = {model: self.rng.beta(wins, total - wins) for model, (wins, total) in self._model_record.items()}
        low, high = _ADAPTIVE_SHARE_BOUNDS
        return high if draws["independent"] > draws["joint"] else low

    def _model_budget(self) -> float | None:
        """The largest budget with enough successful observations, or ``None``."""
        needed = self.min_points_in_model if self.min_points_in_model is not None else self.n_startup_trials
        ready = [b for b, count in self._n_successes.items() if count >= max(needed, 2)]
        return max(ready) if ready else None

    def _fit(self, budget: float, classic: bool = False) -> tuple[ParzenEstimator, ParzenEstimator]:
        """The good and bad densities of ``budget`` (pending proposals join the bad ones); ``classic``: with the
        settings of the classic independent TPE instead of the optimizer's own."""
        history = self._history[budget]
        num, cat, group, loss = history["num"], history["cat"], history["group"], history["loss"]
        n_good = _n_good(self.gamma, self._n_successes[budget])
        order = np.argsort(loss, kind="stable")
        is_good = np.zeros(len(loss), dtype=bool)
        is_good[order[:n_good]] = True
        good_weights = np.ones(len(loss))  # of each observation in the good density
        if self.group_champion_trials > 0 and self.kernel_space.conditional:
            successes = order[: self._n_successes[budget]]
            champions = _group_champions(successes, n_good, group)
            group_sizes = np.bincount(group[successes])
            is_good[champions] = True
            good_weights[champions] = np.minimum(1.0, self.group_champion_trials / group_sizes[group[champions]])
        good = np.flatnonzero(is_good)
        bad = np.flatnonzero(~is_good)
        bad_num, bad_cat, bad_group = num[bad], cat[bad], group[bad]
        bad_weights = ramp_weights(len(bad), self.n_recent)
        pending_configs = self.pending_configs if self.constant_liar else []
        if pending_configs:
            pending = [self._model_rows(config) for config in pending_configs]
            pending_num = np.array([rows[0] for rows in pending])
            pending_cat = np.array([rows[1] for rows in pending])
            bad_num = np.vstack([bad_num, pending_num])
            bad_cat = np.vstack([bad_cat, pending_cat])
            bad_group = np.concatenate([bad_group, self.kernel_space.groups(pending_num, pending_cat)])
            bad_weights = np.concatenate([bad_weights, np.ones(len(pending))])
        if len(bad_weights) > self.max_kernels:
            keep = np.sort(_weighted_subsample(bad_weights, self.max_kernels, self.rng))
            bad_num, bad_cat, bad_group = bad_num[keep], bad_cat[keep], bad_group[keep]
            bad_weights = np.ones(self.max_kernels)
        settings: dict[str, Any] = dict(
            prior_weight=self.prior_weight,
            bandwidth=self.bandwidth,
            neighbor_clip=self.neighbor_clip,
            bandwidth_factor=self.bandwidth_factor * self._bandwidth_scale,
            min_bandwidth=self.min_bandwidth * self._bandwidth_scale,
            min_bandwidth_steps=self.min_bandwidth_steps,
            bandwidth_prior=self.bandwidth_prior,
            multivariate=self.multivariate,
            embeddings={} if classic else self._embeddings(cat, loss, n_good),
            group_log_prior=self._group_log_prior,
        )
        if classic:
            settings.update(
                multivariate=False,
                bandwidth=CLASSIC_TPE["bandwidth"],
                bandwidth_factor=CLASSIC_TPE["bandwidth_factor"] * self._bandwidth_scale,
                min_bandwidth=CLASSIC_TPE["min_bandwidth"] * self._bandwidth_scale,
            )
        good_density = ParzenEstimator(
            self.kernel_space, num[good], cat[good], group[good], good_weights[good], **settings
        )
        settings["bandwidth_factor"] = settings["bandwidth_factor"] * self.bad_bandwidth_factor
        settings["bandwidth"] = settings["bandwidth"] if classic else (self.bad_bandwidth or self.bandwidth)
        bad_density = ParzenEstimator(
            self.kernel_space, bad_num, bad_cat, bad_group, bad_weights,
            adaptive=self.adaptive_bandwidth if settings["multivariate"] else 0.0, **settings,
        )
        return good_density, bad_density

    def _embeddings(self, cat: np.ndarray, loss: np.ndarray, n_good: int) -> dict[int, np.ndarray]:
        """Coordinates of the choices of every categorical with many choices, once there is enough data."""
        if self.embedding_min_choices is None:
            return {}
        space = self.kernel_space
        found = {}
        ranks = None
        for j, n_choices in enumerate(space.n_choices):
            if n_choices < self.embedding_min_choices or space.structural[j]:
                continue
            active = cat[:, j] >= 0
            enough = self.embedding_min_trials if self.embedding_min_trials is not None else 2 * n_choices
            if np.isfinite(loss[active]).sum() < enough:
                continue
            ranks = loss_ranks(loss) if ranks is None else ranks
            found[j] = embed_choices(
                cat[active, j], ranks[active], int(n_choices), self.embedding_dims, gamma=n_good / len(loss)
            )
        return found

    def _model_proposal(self, budget: float) -> Proposal | None:
        space = self.kernel_space
        # The classic TPE takes a turn (no draw when its share is 0, so that such runs keep their random stream).
        share = self._independent_share() if self.multivariate else 0.0
        classic = share > 0.0 and self.rng.random() < share
        n_candidates = CLASSIC_TPE_CANDIDATES if classic else self.n_candidates
        for _ in range(_WIDENINGS):
            good_density, bad_density = self._fit(budget, classic)
            num, cat = self._legal_candidates(good_density, n_candidates)
            if not len(num):  # forbidden clauses rejected them all: wider kernels would not help
                return None
            groups = space.groups(num, cat)
            score = good_density.log_pdf(num, cat, groups) - bad_density.log_pdf(num, cat, groups)
            checked: set[bytes] = set()
            for i in np.argsort(-score, kind="stable"):
                signature = num[i].tobytes() + cat[i].tobytes()
                if signature in checked:
                    continue
                checked.add(signature)
                config = self._remember(num[i], cat[i])
                if self.is_new(config):
                    self._bandwidth_scale = max(1.0, self._bandwidth_scale / 2)
                    model = "joint" if self.multivariate and not classic else "independent"
                    if self.multivariate:
                        self._proposed_by[config_key(config)] = model
                    return config, {"origin": "model", "model_budget": budget, "model": model}
                if len(checked) >= _CANDIDATES_CHECKED:
                    break
            self._bandwidth_scale *= 2
            logger.debug("model proposals repeat known configs; bandwidths widened x%g", self._bandwidth_scale)
        return None

    # ------------------------------------------------------------------ helpers
    def _legal_candidates(self, good_density: ParzenEstimator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidates drawn from ``good_density`` that no forbidden clause rejects: more rounds of ``n`` draws
        while fewer than half are legal (in a space that forbids most configs, few draws around even legal good
        points are), up to ``_CANDIDATE_ROUNDS``."""
        space = self.kernel_space
        nums, cats, n_legal = [], [], 0
        for _ in range(_CANDIDATE_ROUNDS):
            num, cat, allowed = space.legalize(*good_density.sample(n, self.rng), self.rng)
            nums.append(num[allowed])
            cats.append(cat[allowed])
            n_legal += int(allowed.sum())
            if 2 * n_legal >= n:
                break
        return np.concatenate(nums), np.concatenate(cats)

    def _random_proposal(self) -> Proposal:
        space = self.kernel_space
        num, cat, allowed = space.legalize(*space.uniform(16, self.rng), self.rng)
        for i in np.flatnonzero(allowed):
            config = self._remember(num[i], cat[i])
            if self.is_new(config):
                return config, {"origin": "random"}
        return self.sample_random(1)[0], {"origin": "random"}

    def _remember(self, num: np.ndarray, cat: np.ndarray) -> dict[str, Any]:
        """The config of a legal model row, keeping the row so that ``tell`` need not encode it again."""
        config = self.encoder.decode(self.kernel_space.join(num[None, :], cat[None, :])[0])
        self._rows.setdefault(config_key(config), (num, cat))
        return config

    def _model_rows(self, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        rows = self._rows.get(config_key(config))
        if rows is None:
            num, cat = self.kernel_space.split(self.encoder.encode(config))
            rows = self._rows.setdefault(config_key(config), (num[0], cat[0]))
        return rows

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_candidates={self.n_candidates}, multivariate={self.multivariate})"
