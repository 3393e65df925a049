"""UltraOpt: hyperparameter optimization for expensive black-box functions.

``fmin`` minimises a function over an HDL search space; ``FMinResult`` holds every trial of the run.
"""

from ultraopt.facade.fmin import fmin
from ultraopt.master import ObjectiveError
from ultraopt.result import FMinResult
from ultraopt.trial import Trial, TrialStatus

__version__ = "0.2.0"

__all__ = ["FMinResult", "ObjectiveError", "Trial", "TrialStatus", "__version__", "fmin"]
