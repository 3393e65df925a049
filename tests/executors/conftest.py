"""A Dask cluster shared by the tests that need one (starting a cluster takes seconds).

Its workers are processes bound to 127.0.0.1. Tests must not kill its workers: tests that kill workers make
their own cluster, so that the processes of this one stay the same throughout the session.
"""

import pytest
from distributed import Client, LocalCluster

from ultraopt.executors.dask_executor import local_cluster_options


@pytest.fixture(scope="session")
def dask_cluster():
    """Two single-threaded worker processes, with Dask's default configuration (as a user's cluster would be)."""
    cluster = LocalCluster(**local_cluster_options(2))
    yield cluster
    cluster.close()


@pytest.fixture
def dask_client(dask_cluster):
    """A client of the shared cluster, not registered as the default client."""
    client = Client(dask_cluster, set_as_default=False)
    client.wait_for_workers(2, timeout=60)
    yield client
    client.close()
