"""Run a peer's multi-fidelity optimizer on one benchmark function and store its trials as JSON.

Runs in the peers' environment (HpBandSter needs numpy < 2), not in UltraOpt's; ``run.py`` calls it::

    PYTHONPATH=src /work/venv-peers/bin/python benchmarks/multi_fidelity/peers.py \
        --method hpbandster_bohb --function branin_mf --seed 0 --n-brackets 32 --out /tmp/run.json

Both peers run with one worker, sequentially: their virtual time is the sum of the costs the function reports,
in the order the results arrived (what one real worker would take).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ETA, make_benchmark, record, true_regret  # noqa: E402


class Recorder:
    """Evaluates the benchmark and records each trial on a virtual clock of one worker."""

    def __init__(self, bench: Any):
        self.bench = bench
        self.clock = 0.0
        self.records: list[dict[str, Any]] = []

    def __call__(self, config: dict[str, Any], budget: float) -> dict[str, float]:
        out = self.bench(config, float(budget))
        start, self.clock = self.clock, self.clock + out["cost"]
        self.records.append(record(budget, out["loss"], start, self.clock, true_regret(self.bench, config)))
        return out


def config_space(bench: Any, hdl: dict[str, Any] | None = None) -> Any:
    from ultraopt.hdl import hdl2cs

    return hdl2cs(bench.hdl if hdl is None else hdl)


def ordinals_as_integers(hdl: dict[str, Any], prefix: str = "") -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The HDL with each ordinal replaced by an integer index, and flat name to the ordinal's values.

    HpBandSter's BOHB refuses ordinal hyperparameters ("encode as an integer parameter"); this is that encoding.
    Flat names follow the HDL rules: sub-spaces join keys with ``:``, ``"name(choice)"`` gives ``name:option:``.
    """
    encoded: dict[str, Any] = {}
    ordinals: dict[str, list[Any]] = {}
    for key, spec in hdl.items():
        if key.endswith("(choice)") and isinstance(spec, dict):
            name = prefix + key[: -len("(choice)")]
            encoded[key] = {}
            for option, subspace in spec.items():
                if isinstance(subspace, dict):
                    encoded[key][option], inner = ordinals_as_integers(subspace, f"{name}:{option}:")
                    ordinals.update(inner)
                else:  # "_default" and other plain entries
                    encoded[key][option] = subspace
        elif isinstance(spec, dict) and spec.get("_type") == "ordinal":
            ordinals[prefix + key] = list(spec["_value"])
            encoded[key] = {"_type": "int_uniform", "_value": [0, len(spec["_value"]) - 1]}
        elif isinstance(spec, dict) and "_type" not in spec and not key.startswith("__"):
            encoded[key], inner = ordinals_as_integers(spec, f"{prefix}{key}:")
            ordinals.update(inner)
        else:
            encoded[key] = spec
    return encoded, ordinals


def run_hpbandster_bohb(bench: Any, seed: int, n_brackets: int) -> Recorder:
    import hpbandster.core.nameserver as hpns
    from hpbandster.core.worker import Worker
    from hpbandster.optimizers import BOHB

    recorder = Recorder(bench)
    hdl, ordinals = ordinals_as_integers(bench.hdl)

    class BenchmarkWorker(Worker):
        def compute(self, config_id: Any, config: dict[str, Any], budget: float, working_directory: str) -> dict:
            config = {name: ordinals[name][value] if name in ordinals else value for name, value in config.items()}
            out = recorder(config, budget)
            return {"loss": out["loss"], "info": {"cost": out["cost"]}}

    np.random.seed(seed)  # HpBandSter's BOHB draws from numpy's global generator
    random.seed(seed)
    space = config_space(bench, hdl)
    space.seed(seed)
    run_id = f"mf-bench-{bench.name}-{seed}"
    nameserver = hpns.NameServer(run_id=run_id, host="127.0.0.1", port=0)
    host, port = nameserver.start()
    worker = BenchmarkWorker(run_id=run_id, nameserver=host, nameserver_port=port)
    worker.run(background=True)
    bohb = BOHB(configspace=space, run_id=run_id, nameserver=host, nameserver_port=port,
                min_budget=bench.min_budget, max_budget=bench.max_budget, eta=ETA)
    # With ConfigSpace 1.x, categorical values come as numpy.str_, which Pyro4's serializer rejects in the
    # dispatcher thread (the job is lost and run() hangs): hand HpBandSter plain Python values.
    get_config = bohb.config_generator.get_config

    def plain_get_config(budget: float) -> tuple[dict[str, Any], dict[str, Any]]:
        config, info = get_config(budget)
        return {name: getattr(value, "item", lambda v=value: v)() for name, value in config.items()}, info

    bohb.config_generator.get_config = plain_get_config
    try:
        bohb.run(n_iterations=n_brackets)
    finally:
        bohb.shutdown(shutdown_workers=True)
        nameserver.shutdown()
    return recorder


def run_dehb(bench: Any, seed: int, n_brackets: int) -> Recorder:
    from dehb import DEHB
    from loguru import logger

    logger.remove()  # DEHB logs a warning per bracket that it cannot write parquet history files
    recorder = Recorder(bench)
    space = config_space(bench)

    def objective(config: Any, fidelity: float, **kwargs: Any) -> dict[str, Any]:
        out = recorder(dict(config), fidelity)
        return {"fitness": out["loss"], "cost": out["cost"], "info": {}}

    with tempfile.TemporaryDirectory() as output_path:
        dehb = DEHB(f=objective, cs=space, dimensions=len(list(space.values())), min_fidelity=bench.min_budget,
                    max_fidelity=bench.max_budget, eta=ETA, n_workers=1, output_path=output_path, seed=seed,
                    log_level="WARNING")
        dehb.run(brackets=n_brackets)
    return recorder


RUNNERS = {"hpbandster_bohb": run_hpbandster_bohb, "dehb": run_dehb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=sorted(RUNNERS), required=True)
    parser.add_argument("--function", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--n-brackets", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # HpBandSter logs every KDE with an infinite EI (common on conditional spaces) at WARNING, matrices included.
    logging.getLogger("hpbandster").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # statsmodels' KDEs divide by zero there too
    bench = make_benchmark(args.function, args.seed)
    recorder = RUNNERS[args.method](bench, args.seed, args.n_brackets)
    run = {"records": recorder.records, "utilization": 1.0, "makespan": recorder.clock}
    args.out.write_text(json.dumps(run))


if __name__ == "__main__":
    main()
