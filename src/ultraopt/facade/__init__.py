"""The one-call facade ``fmin`` and the checking of its arguments."""

from ultraopt.facade.fmin import fmin

__all__ = ["fmin"]
