"""UltraOpt: hyperparameter optimization for expensive black-box functions."""

__version__ = "0.2.0"
