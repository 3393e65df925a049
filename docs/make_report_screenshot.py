"""Make ``docs/report.png``, the README's picture of a run report.

Runs Hyperband (budgets 1/9 to 1, eta 3) on the ``cash_mf`` benchmark (a conditional model choice with
multi-fidelity losses) on 4 simulated workers (each trial lasts the cost the benchmark reports, on a virtual
clock), writes the HTML report and takes a screenshot of its top with headless Chromium (Debian's ``chromium``
package)::

    python docs/make_report_screenshot.py [--keep-html report.html]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from ultraopt import fmin  # noqa: E402
from ultraopt.benchmarks import get_benchmark  # noqa: E402
from ultraopt.executors import SimulatedExecutor  # noqa: E402
from ultraopt.multi_fidelity import HyperBandIterGenerator  # noqa: E402

HERE = Path(__file__).resolve().parent

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-html", type=Path, help="also keep the report here")
    parser.add_argument("--output", type=Path, default=HERE / "report.png")
    args = parser.parse_args()
    benchmark = get_benchmark("cash_mf")
    result = fmin(benchmark, benchmark.hdl, optimizer="Random", n_iterations=12,
                  multi_fidelity_iter_generator=HyperBandIterGenerator(1 / 9, 1, 3),
                  parallel_strategy=SimulatedExecutor(n_workers=4), show_progressbar=False, random_state=0)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        page = result.report(Path(tmp) / "report.html", title="UltraOpt run: Hyperband on cash_mf")
        if args.keep_html:
            shutil.copy(page, args.keep_html)
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile", "--window-size=1280,2300",
                        f"--screenshot={args.output.resolve()}", page.as_uri()], check=True, capture_output=True,
                       timeout=120)
    print(f"{len(result.trials)} trials; screenshot written to {args.output}")


if __name__ == "__main__":
    main()
