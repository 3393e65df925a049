"""Small HTML building blocks: escaping, tables, embedded images. Everything not marked :class:`Raw` is escaped."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Cell", "Raw", "esc", "figure_png", "format_number", "image", "table"]


class Raw(str):
    """HTML that is already safe (built here from escaped parts); :func:`esc` leaves it alone."""


def esc(value: Any) -> str:
    """``value`` as text safe inside HTML elements and quoted attributes (``Raw`` passes through)."""
    if isinstance(value, Raw):
        return value
    return html.escape(str(value), quote=True)


def format_number(value: Any) -> str:
    """Numbers short (6 significant digits), ``None`` and ``nan`` empty, anything else as ``str``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class Cell:
    """A table cell with a sort key and classes (text is escaped unless it is :class:`Raw`)."""

    __slots__ = ("classes", "content", "sort")

    def __init__(self, content: Any, sort: Any = None, classes: str = ""):
        self.content = content
        self.sort = sort
        self.classes = classes

    def render(self) -> str:
        """The ``<td>`` element."""
        attributes = f' class="{esc(self.classes)}"' if self.classes else ""
        if self.sort is not None:
            attributes += f' data-sort="{esc(self.sort)}"'
        return f"<td{attributes}>{esc(self.content)}</td>"


def _cell(value: Any) -> str:
    if isinstance(value, Cell):
        return value.render()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Cell(format_number(value), classes="num").render()
    return f"<td>{esc(format_number(value))}</td>"


def table(header: Sequence[Any] | None, rows: Iterable[Sequence[Any] | None], table_id: str = "",
          classes: str = "") -> str:
    """An HTML table (without a head row when ``header`` is ``None``); a ``None`` row starts a separated block."""
    attributes = (f' id="{esc(table_id)}"' if table_id else "") + (f' class="{esc(classes)}"' if classes else "")
    out = [f"<table{attributes}>"]
    if header is not None:
        out += ["<thead><tr>", *(f"<th>{esc(name)}</th>" for name in header), "</tr></thead>"]
    out.append("<tbody>")
    separate = False
    for row in rows:
        if row is None:
            separate = True
            continue
        out.append('<tr class="separator">' if separate else "<tr>")
        out.extend(_cell(value) for value in row)
        out.append("</tr>")
        separate = False
    out.append("</tbody></table>")
    return "".join(out)


def image(data: bytes, mime: str, alt: str, caption: str = "") -> str:
    """A figure embedding ``data`` as a ``data:`` URI (an SVG in an ``img`` cannot run scripts)."""
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    text = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{esc(alt)}">{text}</figure>'


def figure_png(drawn: Axes | np.ndarray, dpi: int = 96) -> bytes:
    """Render the matplotlib figure holding ``drawn`` (an Axes or an array of them) to PNG bytes, and close it."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    ax = np.ravel(drawn)[0] if isinstance(drawn, np.ndarray) else drawn
    figure = ax.figure
    root = figure if isinstance(figure, Figure) else figure.figure
    buffer = io.BytesIO()
    root.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(root)
    return buffer.getvalue()
