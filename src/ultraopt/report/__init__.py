"""The run report: one self-contained HTML file (inline CSS and JS, images as ``data:`` URIs, no network).

It holds the run summary, the optimum per budget, the plots, the hyperparameter importance, the search space
and every trial in a sortable table. ``FMinResult.report(path)`` and ``ultraopt report RUN -o report.html``
write it.
"""

from __future__ import annotations

import datetime
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ultraopt.files import write_text_atomically
from ultraopt.report import sections
from ultraopt.report.html import esc

if TYPE_CHECKING:
    from ultraopt.result import FMinResult

__all__ = ["render_report", "write_report"]

logger = logging.getLogger(__name__)

#: ``(anchor, heading, section)`` in page order.
SECTIONS = [
    ("summary", "Summary", sections.summary),
    ("optimum", "Optimum per budget", sections.optimum),
    ("plots", "Plots", sections.plots),
    ("importance", "Hyperparameter importance", sections.importance),
    ("space", "Search space", sections.space),
    ("trials", "Trials", sections.trials),
]

#: Nothing but the page itself: no request leaves it (images are data: URIs, CSS and JS inline).
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _asset(name: str) -> str:
    return resources.files("ultraopt.report").joinpath("assets").joinpath(name).read_text(encoding="utf-8")


def render_report(result: FMinResult, title: str | None = None) -> str:
    """The report of ``result`` as one HTML document.

    Parameters
    ----------
    result : FMinResult
    title : str, optional
        The page's title; ``"UltraOpt run: N trials"`` by default.

    Returns
    -------
    str
        A complete HTML page that needs nothing else to open.
    """
    from ultraopt import __version__

    title = title or f"UltraOpt run: {len(result.trials)} trials"
    written = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    subtitle = f"written {written} by UltraOpt {__version__}"
    if result.meta.get("optimizer"):
        subtitle = f"optimizer {result.meta['optimizer']} · {subtitle}"
    run = sections.ReportedRun(result)
    body = []
    for anchor, heading, section in SECTIONS:
        logger.debug("report: section %s", anchor)
        body.append(f'<section id="{anchor}"><h2>{esc(heading)}</h2>{section(run)}</section>')
    nav = "".join(f'<a href="#{anchor}">{esc(heading)}</a>' for anchor, heading, _ in SECTIONS)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{_asset('report.css')}</style>",
        "</head><body>",
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>",
        f"<nav>{nav}</nav>",
        f"<main>{''.join(body)}</main>",
        f"<script>{_asset('report.js')}</script>",
        "</body></html>",
    ])


def write_report(result: FMinResult, path: str | Path, title: str | None = None) -> Path:
    """Write :func:`render_report` of ``result`` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    write_text_atomically(path, render_report(result, title))
    logger.info("report of %d trials written to %s", len(result.trials), path)
    return path
