"""UltraOpt: hyperparameter optimization for expensive black-box functions.

``fmin`` minimises a function over an HDL search space; ``FMinResult`` holds every trial of the run.

The names below are imported on first use, so that processes that need only a part of the package (a worker
process, the command line) do not pay for importing ConfigSpace, SciPy and pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ultraopt._lazy import lazy_attributes

__version__ = "0.2.0"

__all__ = ["FMinResult", "ObjectiveError", "Trial", "TrialStatus", "__version__", "fmin"]

_LAZY = {
    "fmin": "ultraopt.facade.fmin",
    "ObjectiveError": "ultraopt.master",
    "FMinResult": "ultraopt.result",
    "Trial": "ultraopt.trial",
    "TrialStatus": "ultraopt.trial",
}

if TYPE_CHECKING:
    from ultraopt.facade.fmin import fmin
    from ultraopt.master import ObjectiveError
    from ultraopt.result import FMinResult
    from ultraopt.trial import Trial, TrialStatus


__getattr__, __dir__ = lazy_attributes("ultraopt", globals(), _LAZY)
