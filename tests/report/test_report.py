import re
import time
from pathlib import Path

import pytest

from tests.report.runs import ERROR_MESSAGE, HOSTILE_HDL
from tests.viz.helpers import make_result, make_trial
from ultraopt import viz
from ultraopt.hdl import hdl2cs
from ultraopt.report import CONTENT_SECURITY_POLICY, render_report, sections
from ultraopt.trial import TrialStatus


@pytest.fixture
def run(hyperband_report):
    return hyperband_report[0]


@pytest.fixture
def page(hyperband_report):
    return hyperband_report[1].read_text(encoding="utf-8")


def trial_rows(page):
    body = re.search(r'<table id="trials-table">.*?<tbody>(.*?)</tbody>', page, flags=re.S).group(1)
    return re.findall(r"<tr[ >]", body)


def test_the_page_has_every_section_and_a_row_per_trial(run, page):
    for anchor in ("summary", "optimum", "plots", "importance", "space", "trials"):
        assert f'<section id="{anchor}">' in page
    assert len(trial_rows(page)) == len(run.trials) == 20
    assert page.count('<img src="data:image/png;base64,') >= 8  # 7 plots and the importance bars
    assert 'src="data:image/svg+xml;base64,' in page or "could not draw the space" not in page
    assert "Optimal Loss" in page and "budget 1/9" in page and "estimator: choice of 2" in page


def test_element_ids_are_unique(page):
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_nothing_is_loaded_from_elsewhere(page):
    assert f'content="{CONTENT_SECURITY_POLICY}"' in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)  # only data: URIs and in-page anchors
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


def test_user_text_is_escaped(page):
    assert page.count("<script") == 1  # ours, at the end; the hyperparameter x<script> is text
    assert "x&lt;script&gt;" in page and "&lt;My&gt; run &amp; co" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt; &amp; failed" in page
    assert ERROR_MESSAGE not in page


def test_a_failing_plot_leaves_a_note_and_the_rest_of_the_report(run, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("slices <broke>")

    monkeypatch.setattr(viz, "plot_slices", broken)
    html = sections.plots(sections.ReportedRun(run))
    assert "could not draw this plot: slices &lt;broke&gt;" in html
    assert html.count("<img") == 6  # the other plots are there


@pytest.fixture
def failed_only():
    space = hdl2cs(HOSTILE_HDL)
    config = {"estimator:__choice__": "rf", "estimator:rf:n_estimators": 10, "lr": 0.1, "x<script>": 0.9,
              "tag": "a & b"}
    return make_result(space, [make_trial(0, config, status=TrialStatus.FAILED, error="Traceback\nValueError: x")])


def test_a_run_without_a_successful_trial_still_has_a_report(failed_only):
    page = render_report(failed_only)
    assert "no successful trial among 1" in page and "no importance" in page
    assert len(trial_rows(page)) == 1 and "<summary>ValueError: x</summary>" in page


def test_result_report_writes_the_file(failed_only, tmp_path):
    path = failed_only.report(tmp_path / "report.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_readme_shows_a_screenshot_of_the_report():
    root = Path(__file__).resolve().parents[2]
    assert "![The HTML report of a Hyperband run](docs/report.png)" in (root / "README.md").read_text()
    assert (root / "docs" / "report.png").read_bytes().startswith(b"\x89PNG")


def test_the_trials_table_of_ten_thousand_trials_is_quick(quadratic_space):
    trials = [make_trial(i, {"x": (i % 100) / 10 - 5, "c": "ab"[i % 2]}, float(i % 7)) for i in range(10_000)]
    result = make_result(quadratic_space, trials)
    started = time.process_time()
    html = sections.trials(sections.ReportedRun(result))
    assert time.process_time() - started < 5.0  # linear in the trials (it once was quadratic: 60 s)
    assert html.count("<tr>") == 10_000 + 1  # the rows and the head


def _recording_params(shown, name, function):
    def recording(*args, **kwargs):
        shown[name] = kwargs["params"]
        return function(*args, **kwargs)

    return recording


def test_a_wide_space_plots_its_most_important_hyperparameters_only(monkeypatch):
    # a panel for each of 240 hyperparameters took minutes and made a 20 MB page
    from ultraopt import fmin

    space = {f"h{i:02d}": {"_type": "uniform", "_value": [0.0, 1.0]} for i in range(sections.PLOTTED_MAX + 6)}
    result = fmin(lambda config: config["h29"], space, optimizer="Random", n_iterations=30,
                  random_state=0, show_progressbar=False)
    shown = {}
    for name, attribute in (("slices", "plot_slices"), ("parallel", "plot_parallel_coordinates")):
        monkeypatch.setattr(viz, attribute, _recording_params(shown, name, getattr(viz, attribute)))
    html = sections.plots(sections.ReportedRun(result))
    assert f"the {sections.PLOTTED_MAX} most important of {sections.PLOTTED_MAX + 6} hyperparameters" in html
    assert shown["slices"] == shown["parallel"] and len(shown["slices"]) == sections.PLOTTED_MAX
    assert shown["slices"][0] == "h29"  # the one the loss depends on


def test_a_report_of_a_wide_space_fits_the_importance_once(monkeypatch):
    # the plots (to pick the hyperparameters they show) and the importance section both need it: 2 s for 120
    from ultraopt import fmin
    from ultraopt.viz import importance as importance_module

    space = {f"h{i:02d}": {"_type": "uniform", "_value": [0.0, 1.0]} for i in range(sections.PLOTTED_MAX + 6)}
    result = fmin(lambda config: config["h29"], space, optimizer="Random", n_iterations=30,
                  random_state=0, show_progressbar=False)
    fits = []
    fit = importance_module.fanova_importance
    monkeypatch.setattr(importance_module, "fanova_importance", lambda *a, **k: fits.append(1) or fit(*a, **k))
    page = render_report(result)
    assert len(fits) == 1
    assert "the 24 most important of 30 hyperparameters" in page and "<h2>Hyperparameter importance</h2>" in page
