"""The error a malformed HDL raises, naming the key path where it went wrong."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["HDLError", "KeyPath", "format_path"]

#: The HDL keys from the root down to the offending one, as the user wrote them.
KeyPath = tuple[str, ...]


def format_path(path: Sequence[str]) -> str:
    """Join HDL keys with ``:`` like flat names, e.g. ``"estimator(choice):svc:C"``; ``"<root>"`` if none."""
    return ":".join(path) if path else "<root>"


class HDLError(ValueError):
    """A malformed HDL.

    Parameters
    ----------
    path : sequence of str
        The HDL keys leading to the offending entry, as written (list items as ``"key[i]"``).
    problem : str
        What is wrong there and, where it helps, what is allowed.

    Attributes
    ----------
    path : str
        The joined key path, e.g. ``"estimator(choice):svc:C"``.
    problem : str
        The message without the path.
    """

    def __init__(self, path: Sequence[str], problem: str) -> None:
        self.path = format_path(path)
        self.problem = problem
        super().__init__(f"HDL key '{self.path}': {problem}")

    def __reduce__(self) -> tuple[type[HDLError], tuple[tuple[str], str]]:
        # Rebuilt from its own fields (not from the message) so that it survives pickling between processes.
        return type(self), ((self.path,), self.problem)
