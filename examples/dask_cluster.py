"""A Dask cluster: run Hyperband asynchronously on the workers of a cluster you already have.

UltraOpt needs no server of its own here: trials are Dask futures, handled as they complete, and the objective is
shipped once per worker (with the data it closes over). A worker that dies is replaced by Dask and its trial runs
again; the run still ends with every result.

On an HPC cluster the client would come from dask-jobqueue, for instance::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=1, processes=1, memory="4GB", walltime="02:00:00")
    cluster.scale(jobs=16)
    client = Client(cluster)

(or ``dask_kubernetes.operator.KubeCluster`` on Kubernetes). Here a LocalCluster of 2 processes stands in for it.
Every worker must be able to import ``ultraopt`` and this module. Passing ``parallel_strategy="Dask"`` with
``n_jobs=2`` and no client makes ``fmin`` create (and close) such a local cluster itself.

Run: python3 examples/dask_cluster.py
"""

from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import cross_val_score

from ultraopt import fmin
from ultraopt.multi_fidelity import HyperBandIterGenerator

X, y = load_digits(return_X_y=True)

HDL = {
    "alpha": {"_type": "loguniform", "_value": [1e-6, 1e-1], "_default": 1e-4},
    "penalty": {"_type": "choice", "_value": ["l2", "l1", "elasticnet"], "_default": "l2"},
    "loss": {"_type": "choice", "_value": ["hinge", "log_loss", "modified_huber"], "_default": "hinge"},
}


def evaluate(config: dict, budget: float) -> float:
    """The budget is the number of training epochs."""
    model = SGDClassifier(max_iter=int(budget), tol=None, random_state=0, **config)
    return 1 - cross_val_score(model, X, y, cv=3).mean()


if __name__ == "__main__":
    # Hyperband on 3, 9 and 27 epochs, with asynchronous promotion (a good config moves up as soon as it ranks in
    # the top third of its stage): with ETPE, this is BOHB. One cycle of its brackets is 3 iterations.
    hyperband = HyperBandIterGenerator(min_budget=3, max_budget=27, eta=3, promotion="async")
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        result = fmin(evaluate, HDL, optimizer="ETPE", n_iterations=3, parallel_strategy="Dask",
                      dask_client=client, multi_fidelity_iter_generator=hyperband)
    print(result)
