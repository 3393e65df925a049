"""Plain-text tables for terminals and logs."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def render_table(header: Sequence[str], rows: Sequence[Sequence[str] | None]) -> str:
    """Draw ``rows`` under ``header`` in a box; a ``None`` row draws a separator line.

    >>> print(render_table(["a", "b"], [["1", "22"]]))
    +---+----+
    | a | b  |
    +---+----+
    | 1 | 22 |
    +---+----+
    """
    cells = [list(header)] + [list(row) for row in rows if row is not None]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(header))]
    line = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

    def draw(row: Sequence[str]) -> str:
        return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) + " |"

    out = [line, draw(header), line]
    out += [line if row is None else draw(row) for row in rows]
    out.append(line)
    return "\n".join(out)
