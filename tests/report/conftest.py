"""Report fixtures: headless Chromium, installed from Debian's package by the test setup where missing."""

from __future__ import annotations

import pytest

from tests.report.browser import BrowserUnavailable, install_chromium
from tests.report.runs import hyperband_run


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a Chromium program (installed with apt-get where missing; skipped only if that cannot run)."""
    try:
        return install_chromium()
    except BrowserUnavailable as exc:
        pytest.skip(f"no headless Chromium: {exc}")


@pytest.fixture(scope="session")
def hyperband_report(tmp_path_factory):
    """``(run, path)``: a small Hyperband run and its report, written once for the report tests."""
    run = hyperband_run()
    path = tmp_path_factory.mktemp("report") / "report.html"
    run.report(path, title="<My> run & co")
    return run, path
