"""HDL, the dict-based search-space language, and configs of a space as plain data."""

from typing import Any

from ConfigSpace import ConfigurationSpace


def as_config_space(space: Any) -> ConfigurationSpace:  # placeholder until the HDL compiler lands (branch hdl)
    if isinstance(space, ConfigurationSpace):
        return space
    raise TypeError(type(space).__name__)
