"""The report in headless Chromium: no console errors, every trial shown, the table sorts."""

import re

import pytest

from tests.report.browser import load_page


@pytest.fixture
def report_file(hyperband_report):
    return hyperband_report


def test_console_errors_are_seen(chromium, tmp_path):
    """The canary: an error, an uncaught exception and a blocked request all show up as console messages."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline'\"></head><body><img src=\"http://127.0.0.1:9/x.png\">"
        "<script>console.error('canary error'); undefinedFunction();</script></body></html>"
    )
    dom, console = load_page(chromium, page)
    assert "canary error" in dom
    assert any("canary error" in line for line in console)
    assert any("undefinedFunction" in line for line in console)
    assert any("Content Security Policy" in line for line in console)


def test_hyperband_report_opens_without_console_errors_and_shows_every_trial(chromium, report_file):
    run, path = report_file
    dom, console = load_page(chromium, path)
    assert console == []
    count = re.search(r'<span id="trial-count" data-shown="(\d+)">([^<]*)</span>', dom)
    assert count is not None, "the table script did not run"
    assert count.group(1) == str(len(run.trials)) and count.group(2) == f"{len(run.trials)} trials"
    body = re.search(r'<table id="trials-table">.*?<tbody>(.*?)</tbody>', dom, flags=re.S).group(1)
    assert len(re.findall(r"<tr[ >]", body)) == len(run.trials) == 20
    assert len({budget for budget in (t.budget for t in run.trials)}) == 3


def test_clicking_a_header_sorts_the_trials(chromium, report_file, tmp_path):
    run, path = report_file
    probe = """<script>
    const table = document.getElementById("trials-table");
    const column = Array.from(table.tHead.rows[0].cells).findIndex((th) => th.textContent === "loss");
    const read = () => Array.from(table.tBodies[0].rows).map((row) => row.cells[column].textContent).join("|");
    table.tHead.rows[0].cells[column].click();
    document.body.setAttribute("data-ascending", read());
    table.tHead.rows[0].cells[column].click();
    document.body.setAttribute("data-descending", read());
    </script></body>"""
    probed = tmp_path / "probed.html"
    probed.write_text(path.read_text(encoding="utf-8").replace("</body>", probe), encoding="utf-8")
    dom, console = load_page(chromium, probed)
    assert console == []
    ascending = re.search(r'data-ascending="([^"]*)"', dom).group(1).split("|")
    descending = re.search(r'data-descending="([^"]*)"', dom).group(1).split("|")
    losses = [float(value) for value in ascending if value]
    assert losses == sorted(losses) and len(losses) == len([t for t in run.trials if t.is_success])
    assert ascending[len(losses):] == [""] * (len(run.trials) - len(losses))  # failed trials (no loss) last
    assert [float(value) for value in descending if value] == sorted(losses, reverse=True)
