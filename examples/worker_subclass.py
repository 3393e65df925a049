"""The async_comm parts in one script: a name server, two workers of a ``Worker`` subclass in processes of their
own, and the master, all on 127.0.0.1 with the run's secret found in this process.

Run: python3 examples/worker_subclass.py
"""

import math
import time

from ultraopt.async_comm import Master, NameServer, Worker
from ultraopt.hdl import hdl2cs
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.optimizer import RandomOptimizer

HDL = {"x": {"_type": "uniform", "_value": [-5, 5]}, "y": {"_type": "uniform", "_value": [-5, 5]}}


class BraninWorker(Worker):
    """Evaluates the Branin function; ``budget`` only slows it down here, a stand-in for training time."""

    def compute(self, config_id, config, config_info, budget, working_directory):
        x, y = config["x"], config["y"]
        bowl = (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
        loss = bowl + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10
        time.sleep(0.01 * budget)
        return {"loss": loss, "info": {"config_id": list(config_id)}}


if __name__ == "__main__":
    run_id = "branin"
    generator = CustomIterGenerator([9, 3, 1], [1, 3, 9])  # successive halving: 9 configs, the best 3, the best 1
    optimizer = RandomOptimizer()
    optimizer.initialize(hdl2cs(HDL), budgets=generator.get_budgets(), random_state=0)
    with NameServer(run_id):
        workers = [BraninWorker(run_id, worker_id=i) for i in range(2)]
        for worker in workers:
            worker.run(background=True, concurrent_type="process")
        master = Master(run_id, optimizer, generator)
        try:
            result = master.run(n_iterations=3, min_n_workers=2)
        finally:
            master.shutdown(shutdown_workers=True)
            for worker in workers:
                worker.shutdown()
    print(result)
    print("incumbents per budget:", master.incumbent_performances)
