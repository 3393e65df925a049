"""A search space as a picture: Graphviz when the ``dot`` program is installed, otherwise matplotlib.

Both renderers draw the tree of :func:`ultraopt.hdl.space_tree` (the text drawing, :func:`ultraopt.hdl.draw_space`,
draws the same tree): conditional choices with their alternatives, the sub-spaces they activate, and each
hyperparameter with its type, range or options and default.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ConfigSpace import ConfigurationSpace

from ultraopt.hdl import SpaceNode, SpaceTree, space_tree

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["node_label", "plot_space", "render_space", "space_to_dot"]

logger = logging.getLogger(__name__)

#: Seconds ``dot`` may take before the matplotlib drawing is used instead.
DOT_TIMEOUT = 30.0

#: Graphviz attributes per kind of node: (shape, fill colour).
_STYLE = {
    "root": ("box", "#e8e8e8"),
    "group": ("folder", "#f3f3f3"),
    "choice": ("diamond", "#ffd8a8"),
    "alternative": ("box", "#d0ebff"),
    "hyperparameter": ("box", "#ffffff"),
    "constant": ("plaintext", "#ffffff"),
    "forbidden": ("note", "#ffe3e3"),
}


def node_label(node: SpaceNode) -> str:
    """The text of a node in a picture: its name, then what it is, on separate lines."""
    if node.kind == "root":
        return "search space"
    if node.kind == "choice":
        return f"{node.label}\nchoice of {len(node.children)}\ndefault {node.default!r}"
    if node.kind == "alternative":
        return node.label + ("" if node.children else "\n(empty)")
    if node.kind == "constant":
        return f"{node.label} = {node.default!r}"
    if node.kind == "hyperparameter":
        text = f"{node.label}\n{node.hdl_type} {list(node.domain)!r}\ndefault {node.default!r}"
        return text + "".join(f"\nif {condition}" for condition in node.conditions)
    return node.label


def _walk(node: SpaceNode, parent: int | None = None, counter: list[int] | None = None) -> Iterator[
    tuple[int, int | None, SpaceNode]
]:
    """``(id, parent id, node)`` in depth-first order, the root first with id 0."""
    counter = counter if counter is not None else [0]
    own = counter[0]
    counter[0] += 1
    yield own, parent, node
    for child in node.children:
        yield from _walk(child, own, counter)


def _dot_string(text: str) -> str:
    """A DOT double-quoted string; line breaks become centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def space_to_dot(space: ConfigurationSpace | Mapping[str, Any] | SpaceTree) -> str:
    """The space as a Graphviz DOT digraph, laid out left to right.

    Parameters
    ----------
    space : ConfigurationSpace, HDL dict or SpaceTree

    Returns
    -------
    str
        DOT source; ``dot -Tsvg`` draws it.
    """
    tree = space if isinstance(space, SpaceTree) else space_tree(space)
    lines = [
        "digraph space {",
        '  rankdir=LR; nodesep=0.15; ranksep=0.35; bgcolor="transparent";',
        '  node [fontname="Helvetica", fontsize=10, style="filled,rounded", margin="0.08,0.03"];',
        '  edge [color="#888888", arrowsize=0.6];',
    ]
    for own, parent, node in _walk(tree.root):
        shape, fill = _STYLE[node.kind]
        style = ', style="filled"' if shape in ("diamond", "folder") else ""
        lines.append(f'  n{own} [label={_dot_string(node_label(node))}, shape={shape}, fillcolor="{fill}"{style}];')
        if parent is not None:
            lines.append(f"  n{parent} -> n{own};")
    if tree.forbidden:
        text = "forbidden:\n" + "\n".join(tree.forbidden)
        shape, fill = _STYLE["forbidden"]
        lines.append(f'  forbidden [label={_dot_string(text)}, shape={shape}, fillcolor="{fill}", style="filled"];')
    lines.append("}")
    return "\n".join(lines)


def _layout(tree: SpaceTree) -> tuple[dict[int, tuple[float, float]], list[tuple[int, int | None, SpaceNode]]]:
    """Left-to-right tidy layout: x is the depth, leaves one row each, a parent centred on its children."""
    nodes = list(_walk(tree.root))
    children: dict[int, list[int]] = {own: [] for own, _, _ in nodes}
    for own, parent, _ in nodes:
        if parent is not None:
            children[parent].append(own)
    position: dict[int, tuple[float, float]] = {}
    next_row = [0.0]

    def place(own: int, depth: int) -> float:
        if children[own]:
            rows = [place(child, depth + 1) for child in children[own]]
            row = (rows[0] + rows[-1]) / 2
        else:
            row, next_row[0] = next_row[0], next_row[0] + 1
        position[own] = (float(depth), -row)
        return row

    place(0, 0)
    return position, nodes


def plot_space(space: ConfigurationSpace | Mapping[str, Any] | SpaceTree, ax: Axes | None = None) -> Axes:
    """Draw the space's tree with matplotlib (no Graphviz needed), root on the left.

    Parameters
    ----------
    space : ConfigurationSpace, HDL dict or SpaceTree
    ax : matplotlib Axes, optional
        Where to draw; a new figure sized to the tree by default.

    Returns
    -------
    matplotlib.axes.Axes
        One text per node (its :func:`node_label`) and one line per edge; the forbidden combinations, if any,
        as a last text.
    """
    import matplotlib.pyplot as plt

    tree = space if isinstance(space, SpaceTree) else space_tree(space)
    position, nodes = _layout(tree)
    depth = max(x for x, _ in position.values())
    rows = -min(y for _, y in position.values()) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(2.4 * (depth + 1) + 0.5, 0.62 * rows + 0.6 + 0.3 * len(tree.forbidden)))
    for own, parent, node in nodes:
        x, y = position[own]
        if parent is not None:
            px, py = position[parent]
            ax.plot([px, px + 0.5, px + 0.5, x], [py, py, y, y], color="0.6", lw=0.8, zorder=1)
        ax.text(x, y, node_label(node), ha="left", va="center", fontsize=7, zorder=2,
                bbox={"boxstyle": "round,pad=0.25", "facecolor": _STYLE[node.kind][1], "edgecolor": "0.5", "lw": 0.6})
    if tree.forbidden:
        ax.text(0, -rows - 0.2, "forbidden:\n" + "\n".join(tree.forbidden), ha="left", va="top", fontsize=7,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": _STYLE["forbidden"][1], "lw": 0.6})
    ax.set_xlim(-0.1, depth + 1.1)
    ax.set_ylim(-rows - (0.4 + 0.45 * len(tree.forbidden) if tree.forbidden else 0.4), 0.6)
    ax.set_axis_off()
    return ax


def render_space(
    space: ConfigurationSpace | Mapping[str, Any] | SpaceTree,
    fmt: Literal["svg", "png"] = "svg",
    engine: Literal["auto", "dot", "matplotlib"] = "auto",
) -> tuple[bytes, str]:
    """Draw the space as an image file's bytes.

    Parameters
    ----------
    space : ConfigurationSpace, HDL dict or SpaceTree
    fmt : {"svg", "png"}
    engine : {"auto", "dot", "matplotlib"}
        ``"auto"`` uses Graphviz's ``dot`` when it is on ``PATH`` (and works), else matplotlib.

    Returns
    -------
    image, engine : bytes, str
        The image and the engine that drew it.

    Raises
    ------
    RuntimeError
        With ``engine="dot"`` when ``dot`` is missing or fails.
    """
    if fmt not in ("svg", "png") or engine not in ("auto", "dot", "matplotlib"):
        raise ValueError(f"fmt must be 'svg' or 'png', engine 'auto', 'dot' or 'matplotlib'; got {fmt!r}, {engine!r}")
    tree = space if isinstance(space, SpaceTree) else space_tree(space)
    if engine != "matplotlib":
        dot = shutil.which("dot")
        try:
            if dot is None:
                raise RuntimeError("Graphviz's dot program is not installed (e.g. apt-get install graphviz)")
            done = subprocess.run([dot, f"-T{fmt}"], input=space_to_dot(tree).encode(), capture_output=True,
                                  timeout=DOT_TIMEOUT, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
            return done.stdout, "dot"
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            if engine == "dot":
                raise RuntimeError(str(exc)) from exc
            logger.info("drawing the space with matplotlib: %s", exc)
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    figure = plot_space(tree).figure
    assert isinstance(figure, Figure)  # a new top-level figure, not a sub-figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, bbox_inches="tight", dpi=110)
    plt.close(figure)
    return buffer.getvalue(), "matplotlib"
