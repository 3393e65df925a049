"""``draw_space``: a search space as a text tree (the tree itself comes from :mod:`ultraopt.hdl.tree`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ConfigSpace import ConfigurationSpace

from ultraopt.hdl.tree import SpaceNode, space_tree

__all__ = ["draw_space"]


def draw_space(space: ConfigurationSpace | Mapping[str, Any]) -> str:
    """Draw a search space as a text tree.

    Conditional choices show their alternatives (``(empty)`` when an alternative has no hyperparameters),
    each hyperparameter its HDL type, range or options and default, constants their value, and extra
    activation conditions and forbidden combinations are spelt out.

    Parameters
    ----------
    space : ConfigurationSpace or dict
        A space or an HDL dict (compiled first).

    Returns
    -------
    str
        One line per node, e.g.::

            search space
            ├── estimator: choice of 2, default 'svc'
            │   ├── svc
            │   │   └── C: loguniform [0.01, 100.0], default 1.0
            │   └── lr (empty)
            └── random_state = 42
    """
    tree = space_tree(space)
    lines = ["search space"]
    _draw_children(tree.root, "", lines)
    if tree.forbidden:
        lines.append("forbidden:")
        lines.extend(f"  - {words}" for words in tree.forbidden)
    return "\n".join(lines)


def _draw_children(node: SpaceNode, indent: str, lines: list[str]) -> None:
    for index, child in enumerate(node.children):
        last = index == len(node.children) - 1
        lines.append(indent + ("└── " if last else "├── ") + _label(child))
        _draw_children(child, indent + ("    " if last else "│   "), lines)


def _label(node: SpaceNode) -> str:
    if node.kind == "constant":
        text = f"{node.label} = {node.default!r}"
    elif node.kind == "choice":
        text = f"{node.label}: choice of {len(node.children)}, default {node.default!r}"
    elif node.kind == "alternative":
        text = node.label + ("" if node.children else " (empty)")
    elif node.kind == "hyperparameter":
        text = f"{node.label}: {node.hdl_type} {list(node.domain)!r}, default {node.default!r}"
    else:
        text = node.label
    if node.conditions:
        text += f"  [if {' and '.join(node.conditions)}]"
    return text
