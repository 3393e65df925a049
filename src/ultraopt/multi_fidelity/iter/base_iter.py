"""An iteration (a bracket): stages of configs, each stage on a larger budget than the last."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ultraopt.trial import ConfigId, Trial

__all__ = ["BaseIteration", "ConfigSampler", "RunRequest"]

#: ``sampler(budget) -> (config, config_info)``: where an iteration gets new configs (the optimizer's ``ask``).
ConfigSampler = Callable[[float], tuple[dict[str, Any], dict[str, Any]]]


class RunRequest(NamedTuple):
    """What an iteration wants evaluated next."""

    config_id: ConfigId
    config: dict[str, Any]
    config_info: dict[str, Any]
    budget: float


class BaseIteration(ABC):
    """One bracket of a multi-fidelity schedule.

    The Master asks :meth:`get_next_run` for work whenever a slot is free and hands every finished trial of the
    iteration to :meth:`register_result`. ``None`` from :meth:`get_next_run` means "nothing to run until more
    results arrive" (or, once :attr:`is_finished`, nothing at all).

    Parameters
    ----------
    iteration : int
        Index of the iteration in the run; the first element of every config id it makes.
    num_configs : sequence of int
        How many configs each stage holds (at most).
    budgets : sequence of float
        The budget of each stage, increasing.
    config_sampler : callable or None
        ``config_sampler(budget) -> (config, config_info)``, called when the iteration needs a new config;
        ``None`` makes an iteration to look at (its stages), which cannot run.
    """

    def __init__(
        self,
        iteration: int,
        num_configs: Sequence[int],
        budgets: Sequence[float],
        config_sampler: ConfigSampler | None = None,
    ):
        if len(num_configs) != len(budgets) or not budgets:
            raise ValueError(
                f"num_configs {list(num_configs)} and budgets {list(budgets)} must be non-empty and of equal length"
            )
        self.iteration = int(iteration)
        self.num_configs = [int(n) for n in num_configs]
        self.budgets = [float(b) for b in budgets]
        self.config_sampler = config_sampler
        self.is_finished = False
        self._n_sampled = 0

    @property
    def n_stages(self) -> int:
        """How many budgets the iteration climbs."""
        return len(self.budgets)

    def _sample(self, stage: int) -> RunRequest:
        """A new config from the sampler, to run on the budget of ``stage``."""
        if self.config_sampler is None:
            raise RuntimeError(
                f"iteration {self.iteration} has no config_sampler to draw new configs from: make it with "
                "get_next_iteration(iteration, config_sampler) to run it"
            )
        config, config_info = self.config_sampler(self.budgets[stage])
        config_id = (self.iteration, stage, self._n_sampled)
        self._n_sampled += 1
        return RunRequest(config_id, config, dict(config_info), self.budgets[stage])

    @abstractmethod
    def get_next_run(self) -> RunRequest | None:
        """The next evaluation this iteration wants, or ``None`` when it has none right now."""

    @abstractmethod
    def register_result(self, trial: Trial) -> None:
        """Take the finished ``trial`` (one this iteration requested) into account."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(iteration={self.iteration}, num_configs={self.num_configs}, "
            f"budgets={self.budgets}, finished={self.is_finished})"
        )
