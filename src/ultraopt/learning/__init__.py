"""The numerics optimizers share: config encoding, densities, embeddings, surrogates, acquisition."""

from ultraopt.learning.encoding import Dimension, SpaceEncoder

__all__ = ["Dimension", "SpaceEncoder"]
