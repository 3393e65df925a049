"""The ask/tell protocol every optimizer follows.

An optimizer is a pure ask/tell object: no threads, no I/O, no knowledge of executors. :class:`BaseOptimizer`
does the bookkeeping every optimizer needs — observations per budget, the pending proposals, the user's initial
points and de-duplication — so that a subclass only proposes configs (:meth:`BaseOptimizer._propose`) and, if
it keeps a model, updates it as results arrive (:meth:`BaseOptimizer._observe`).
"""

from __future__ import annotations

import difflib
import inspect
import logging
import math
import numbers
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
from ConfigSpace import ConfigurationSpace

from ultraopt.checks import CONFIG_LIST, is_config_list, is_seed
from ultraopt.hdl.configs import (
    ConfigKey,
    branch_is_infinite,
    branches,
    check_config,
    config_key,
    enumerate_configs,
    sample_branch,
    sample_configs,
)

__all__ = ["BaseOptimizer", "Observations", "Proposal"]

logger = logging.getLogger(__name__)

#: What :meth:`BaseOptimizer.ask` returns per point: the config and where it came from.
Proposal = tuple[dict[str, Any], dict[str, Any]]

# How many random configs to draw when a proposal is a duplicate, before enumerating a finite space.
_RANDOM_DRAWS_FOR_NEW_CONFIG = 256
# ... and then per branch of a conditional space.
_DRAWS_PER_BRANCH = 16


def _distinct_points(config_space: ConfigurationSpace, points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The checked initial points, each once (a repeat is logged: it would not be evaluated twice)."""
    first_index: dict[ConfigKey, int] = {}
    distinct = []
    for index, point in enumerate(points):
        config = check_config(config_space, point, what=f"initial_points[{index}]")
        key = config_key(config)
        if key in first_index:
            logger.warning("initial_points[%d] repeats initial_points[%d]; it is evaluated once", index,
                           first_index[key])
            continue
        first_index[key] = index
        distinct.append(config)
    return distinct


@dataclass
class Observations:
    """The results told for one budget, in the order they arrived.

    ``losses`` holds ``inf`` for failed trials, so that they rank below every success.
    """

    configs: list[dict[str, Any]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)

    def add(self, config: dict[str, Any], loss: float) -> None:
        """Append one result."""
        self.configs.append(config)
        self.losses.append(loss)

    def __len__(self) -> int:
        return len(self.losses)

    @property
    def n_successes(self) -> int:
        """How many results have a finite loss."""
        return sum(math.isfinite(loss) for loss in self.losses)

    def loss_array(self) -> np.ndarray:
        """The losses as a float array (``inf`` for failures)."""
        return np.asarray(self.losses, dtype=float)


class BaseOptimizer(ABC):
    """Base class of optimizers: ``initialize``, then ``ask`` and ``tell`` in any interleaving.

    Subclasses implement :meth:`_propose` and may override :meth:`_observe` and :meth:`_on_initialize`.
    Constructors only store their arguments; everything that depends on the space happens in
    :meth:`initialize`.

    Attributes
    ----------
    config_space : ConfigurationSpace
        The space, set by :meth:`initialize`.
    budgets : tuple of float
        The budgets of the run, smallest first.
    rng : numpy.random.Generator
        The only source of randomness of the optimizer.
    observations : dict
        Budget to :class:`Observations`.
    """

    #: Short name used in results and logs; a subclass that sets none is named after its class.
    name = "Base"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    def __init__(self) -> None:
        self._initialized = False

    def get_params(self) -> dict[str, Any]:
        """The optimizer's settings: each constructor parameter (of its class and of the classes it builds on)
        with the value it holds, as in scikit-learn.

        Returns
        -------
        dict
            Parameter name to value, in signature order; parameters that a constructor does not keep as an
            attribute of the same name are left out.
        """
        return {name: getattr(self, name) for name in self._parameter_names() if hasattr(self, name)}

    @classmethod
    def _parameter_names(cls) -> list[str]:
        """The constructor parameters of the class and of the classes it builds on, in signature order."""
        names: dict[str, None] = {}
        for klass in cls.__mro__:
            if "__init__" in klass.__dict__:
                for parameter in inspect.signature(klass.__dict__["__init__"]).parameters.values():
                    if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                        names.setdefault(parameter.name)
        names.pop("self", None)
        return list(names)

    def _refuse_unknown_parameters(self, kwargs: Mapping[str, Any]) -> None:
        """Raise for a keyword that no constructor takes, naming this class (Python's own error, raised where the
        keywords are passed on, names the base class) and the closest parameter."""
        names = self._parameter_names()
        for keyword in kwargs:
            if keyword not in names:
                close = difflib.get_close_matches(keyword, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; its parameters are {', '.join(names)}"
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {keyword!r}{hint}")

    # ------------------------------------------------------------------ protocol
    def initialize(
        self,
        config_space: ConfigurationSpace | Mapping[str, Any],
        budgets: Sequence[float] = (1,),
        random_state: int | np.random.Generator | None = 42,
        initial_points: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        """Prepare the optimizer for a space.

        Parameters
        ----------
        config_space : ConfigurationSpace or dict
            The search space, as a ConfigSpace space or an HDL dict.
        budgets : sequence of float
            The budgets configs will be evaluated on.
        random_state : int, numpy.random.Generator or None
            Seed of the optimizer's generator; the same seed and the same results give the same proposals.
        initial_points : iterable of dict, optional
            Configs to propose first, in order; each is validated against the space.

        Raises
        ------
        ValueError
            When an initial point is not a valid config of the space (the message names the hyperparameter), or
            ``random_state`` is no seed.
        """
        from ultraopt.hdl import as_config_space  # imported here: the HDL compiler imports nothing from us

        self.config_space = as_config_space(config_space)
        if initial_points is not None:
            if isinstance(initial_points, Iterable) and not isinstance(initial_points, (Mapping, str, bytes)):
                initial_points = list(initial_points)  # once: checking a generator would use it up
            if not is_config_list(initial_points):
                raise ValueError(f"initial_points must be {CONFIG_LIST}, got {initial_points!r:.200}")
        if not budgets:
            raise ValueError("budgets must hold at least one budget")
        self.budgets = tuple(sorted({float(budget) for budget in budgets}))
        if not is_seed(random_state):
            raise ValueError(
                f"random_state must be None, a non-negative int or a numpy Generator, got {random_state!r}"
            )
        self.rng = np.random.default_rng(random_state)
        self.observations: dict[float, Observations] = {budget: Observations() for budget in self.budgets}
        self._initial_points = deque(_distinct_points(self.config_space, initial_points or []))
        self._pending: dict[ConfigKey, tuple[dict[str, Any], float]] = {}
        self._seen: set[ConfigKey] = set()
        # once needed: every config of a small space (None when infinite or large), else the space's branches
        self._enumeration: tuple[list[dict[str, Any]] | None, list[list[dict[str, Any]]]] | None = None
        self._initialized = True
        self._on_initialize()

    @overload
    def ask(self, budget: float | None = None, n_points: None = None) -> Proposal: ...

    @overload
    def ask(self, budget: float | None = None, n_points: int = ...) -> list[Proposal]: ...

    def ask(self, budget: float | None = None, n_points: int | None = None) -> Proposal | list[Proposal]:
        """Propose configs to evaluate on ``budget``.

        Parameters
        ----------
        budget : float, optional
            The budget the configs will run on; the largest budget by default.
        n_points : int, optional
            How many configs to propose at once. ``None`` returns one ``(config, info)`` pair, an int a list.

        Returns
        -------
        (config, info) or list of (config, info)
            ``info["origin"]`` says where a config came from (``"user"``, ``"initial design"``, ``"model"``,
            ``"random"``). Proposals are distinct from each other, from pending proposals and from every config
            told so far, until the space is exhausted (then ``info["duplicate"]`` is ``True``).
        """
        self._check_initialized()
        if n_points is not None and (
            isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 1
        ):
            raise ValueError(f"n_points must be a positive int or None, got {n_points!r}")
        budget = self._budget(budget)
        proposals = [self._ask_one(budget) for _ in range(1 if n_points is None else n_points)]
        return proposals[0] if n_points is None else proposals

    def tell(self, config: Mapping[str, Any], loss: float | None, budget: float | None = None) -> None:
        """Record the result of ``config`` on ``budget``.

        Parameters
        ----------
        config : dict
            A config of the space (usually one returned by :meth:`ask`).
        loss : float or None
            The loss; ``None``, ``nan`` or ``inf`` record a failed evaluation, ranked below every success.
        budget : float, optional
            The budget it ran on; the largest budget by default. A budget not given to :meth:`initialize` is
            added (results of a warm start may come from other budgets).
        """
        self._check_initialized()
        budget = self._budget(budget)
        if loss is not None and (isinstance(loss, bool) or not isinstance(loss, numbers.Real)):
            raise TypeError(f"tell: loss must be a number, or None for a failed evaluation, got {loss!r:.200} "
                            f"({type(loss).__name__})")
        config = dict(config)
        key = config_key(config)
        try:
            ours = key in self._pending
        except TypeError:  # an unhashable value, such as a nested config: the checks below name it
            ours = False
        if not ours:  # one of our proposals is legal already; anything else is checked first
            # before anything changes: a config the models cannot take must not half-update them, and numpy or
            # int values must find the proposal they came from
            config = check_config(self.config_space, config, what="tell: config")
            key = config_key(config)
        value = math.inf if loss is None or not math.isfinite(loss) else float(loss)
        self._pending.pop(key, None)
        self._seen.add(key)
        self.observations.setdefault(budget, Observations()).add(config, value)
        self._observe(config, value, budget)

    def mark_pending(self, config: Mapping[str, Any], budget: float | None = None) -> None:
        """Record ``config`` as proposed and running on ``budget``, as if :meth:`ask` had just returned it.

        A resumed run calls it for the configs its journal holds: they are never proposed again, count as
        pending until told, and an initial point equal to one of them is not proposed again.
        """
        self._check_initialized()
        config = check_config(self.config_space, config, what="mark_pending: config")
        key = config_key(config)
        self._seen.add(key)  # an initial point equal to it is skipped when its turn comes
        self._pending[key] = (config, self._budget(budget))

    def forget(self, config: Mapping[str, Any]) -> None:
        """Drop ``config`` from the pending proposals without a result (its trial was cancelled)."""
        try:
            config = check_config(self.config_space, config, what="forget: config")
        except ValueError:
            return  # not a config of the space, so not one of ours
        self._pending.pop(config_key(config), None)

    # ------------------------------------------------------------------ for subclasses
    @abstractmethod
    def _propose(self, budget: float) -> Proposal:
        """Propose one config for ``budget``; :attr:`pending_configs` are already running.

        Return a plain config (see :func:`ultraopt.hdl.configs.plain_config`) and an info dict with ``"origin"``;
        the config of an optimizer defined outside UltraOpt is checked against the space (a ``ValueError`` names
        the hyperparameter at fault). Returning a duplicate is allowed (the base class then replaces it by a
        random new config), but a model should avoid it: use :meth:`is_new`.
        """

    def _observe(self, config: dict[str, Any], loss: float, budget: float) -> None:  # noqa: B027
        """Update the model with one result (``loss`` is ``inf`` for a failure); nothing by default."""

    def _on_initialize(self) -> None:  # noqa: B027
        """Set up what depends on the space, after :meth:`initialize`; nothing by default."""

    @property
    def pending_configs(self) -> list[dict[str, Any]]:
        """Configs proposed and not yet told, oldest first (copies)."""
        return [dict(config) for config, _ in self._pending.values()]

    @property
    def n_told(self) -> int:
        """How many results were told since :meth:`initialize` (0 before it)."""
        return sum(len(observations) for observations in self.observations.values()) if self._initialized else 0

    def is_new(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` was neither proposed nor told before."""
        return config_key(config) not in self._seen

    def sample_random(self, n: int) -> list[dict[str, Any]]:
        """``n`` configs drawn uniformly with the optimizer's generator (duplicates possible)."""
        return sample_configs(self.config_space, n, self.rng)

    # ------------------------------------------------------------------ internals
    def _ask_one(self, budget: float) -> Proposal:
        info: dict[str, Any]
        while self._initial_points and not self.is_new(self._initial_points[0]):
            self._initial_points.popleft()  # evaluated already (a resumed run's journal holds it)
        if self._initial_points:
            config, info = self._initial_points.popleft(), {"origin": "user"}
        else:
            config, info = self._checked_proposal(self._propose(budget))
        if not self.is_new(config):
            replacement = self._new_random_config()
            if replacement is None:
                info["duplicate"] = True
                logger.info("no config left that was not proposed before; proposing %s again", config)
            else:
                config, info = replacement, {"origin": "random", "replaces": str(info.get("origin"))}
        key = config_key(config)
        self._seen.add(key)
        self._pending[key] = (config, budget)
        return dict(config), info  # a copy: the caller may edit it (config.pop("lr")) without editing our record

    def _checked_proposal(self, proposal: Any) -> Proposal:
        """``proposal`` as ``(config, info)``; the config of an optimizer written outside UltraOpt is checked
        against the space first, so that an illegal one fails here rather than reach the objective and the
        journal (whose resume would then refuse it)."""
        what = f"{type(self).__name__}._propose"
        if not (isinstance(proposal, (tuple, list)) and len(proposal) == 2 and isinstance(proposal[0], Mapping)
                and isinstance(proposal[1], Mapping)):
            raise TypeError(f"{what} must return a (config, info) pair of dicts, got {proposal!r:.200}")
        config, info = proposal
        if not getattr(type(self)._propose, "__module__", "").startswith("ultraopt."):
            config = check_config(self.config_space, config, what=f"{what}: config")
        return dict(config), dict(info)

    def _new_random_config(self) -> dict[str, Any] | None:
        """A config never proposed nor told, or ``None`` when the space has none left."""
        for config in self.sample_random(_RANDOM_DRAWS_FOR_NEW_CONFIG):
            if self.is_new(config):
                return config
        # Sampling keeps hitting known configs: the space is small, so enumerate it and pick among the rest...
        if self._enumeration is None:
            all_configs = enumerate_configs(self.config_space)
            found = (branches(self.config_space) or []) if all_configs is None else []
            infinite = [branch_is_infinite(self.config_space, branch) for branch in found]
            self._enumeration = (all_configs, [[b for b, inf in zip(found, infinite) if inf],
                                               [b for b, inf in zip(found, infinite) if not inf]])
        all_configs, branch_groups = self._enumeration
        if all_configs is not None:
            unseen = [config for config in all_configs if self.is_new(config)]
            return unseen[int(self.rng.integers(len(unseen)))] if unseen else None
        # ... or its unseen configs hide in branches that uniform draws rarely reach (behind nested choices):
        # draw within each branch in turn, in random order, those with infinitely many configs (which surely have
        # new ones) first.
        for group in branch_groups:
            for index in self.rng.permutation(len(group)):
                for config in sample_branch(self.config_space, group[index], _DRAWS_PER_BRANCH, self.rng):
                    if self.is_new(config):
                        return config
        return None

    def _budget(self, budget: float | None) -> float:
        """``budget`` as a float, the largest one for ``None``; a budget is a positive finite number."""
        if budget is None:
            return self.budgets[-1]
        if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)):
            raise ValueError(f"budget must be a positive number, got {budget!r}")
        if not (math.isfinite(budget) and budget > 0):
            raise ValueError(f"budget must be a positive finite number, got {budget!r}")
        return float(budget)

    def _check_initialized(self) -> None:
        if not self._initialized:
            raise RuntimeError(f"{type(self).__name__}.initialize(config_space, ...) must be called before ask/tell")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
