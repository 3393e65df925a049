"""Promotion inside a bracket, synchronous and asynchronous, driven by hand one result at a time."""

import itertools
from collections import Counter

import pytest

from tests.multi_fidelity.test_rank_reduction import counter_sampler
from ultraopt.multi_fidelity import AsyncRankReductionIteration, RankReductionIteration, WarmStartIteration
from ultraopt.multi_fidelity.iter.base_iter import RunRequest
from ultraopt.multi_fidelity.iter.successive_halving import Rung
from ultraopt.optimizer import RandomOptimizer
from ultraopt.trial import Trial, TrialStatus

IDS = itertools.count()


def finish(request, loss=None):
    """The trial of ``request`` finished with ``loss`` (a failure when ``None``)."""
    trial = Trial(next(IDS), request.config_id, request.config, request.budget, request.config_info,
                  TrialStatus.RUNNING)
    if loss is None:
        trial.finish(TrialStatus.FAILED, error="boom")
    else:
        trial.finish(TrialStatus.SUCCESS, float(loss))
    return trial


def drain(iteration):
    requests = []
    while (request := iteration.get_next_run()) is not None:
        requests.append(request)
    return requests


def run_one_at_a_time(iteration, loss_of, fail=lambda request: False):
    """Keep one evaluation running at a time, FIFO; return the requests in the order they were made."""
    order, queue = [], []
    while not iteration.is_finished:
        queue += drain(iteration)
        assert queue, "the iteration is stuck"
        request = queue.pop(0)
        order.append(request)
        iteration.register_result(finish(request, None if fail(request) else loss_of(request)))
    return order


def test_async_promotes_as_soon_as_a_config_ranks_in_the_top_third():
    iteration = AsyncRankReductionIteration(0, [9, 3, 1], [1, 3, 9], counter_sampler())
    first = [iteration.get_next_run() for _ in range(3)]
    iteration.register_result(finish(first[0], 5.0))
    iteration.register_result(finish(first[1], 2.0))
    assert iteration.get_next_run().budget == 1.0  # 2 finished: floor(2/3) = 0 promotions yet
    iteration.register_result(finish(first[2], 7.0))
    promoted = iteration.get_next_run()  # 3 finished: the best of them advances without waiting for the other 6
    assert promoted.config == first[1].config and promoted.budget == 3.0
    assert promoted.config_id == first[1].config_id


def test_async_promotion_order_is_by_loss():
    iteration = AsyncRankReductionIteration(0, [9, 3, 1], [1, 3, 9], counter_sampler())
    stage0 = drain(iteration)
    assert len(stage0) == 9
    losses = [4.0, 8.0, 1.0, 6.0, 0.5, 9.0, 3.0, 7.0, 2.0]
    for request, loss in zip(stage0[:6], losses[:6]):
        iteration.register_result(finish(request, loss))
    promoted = drain(iteration)  # 6 finished: the top 2 advance, best first
    assert [r.config["x"] for r in promoted] == [4, 2]
    for request, loss in zip(stage0[6:], losses[6:]):
        iteration.register_result(finish(request, loss))
    # the rung is closed: the third place goes to the best config not yet promoted
    assert [r.config["x"] for r in drain(iteration)] == [8]


@pytest.mark.parametrize("klass", [RankReductionIteration, AsyncRankReductionIteration])
def test_failed_configs_are_never_promoted(klass):
    iteration = klass(0, [9, 3, 1], [1, 3, 9], counter_sampler())
    failing = {0, 1, 2, 3, 4}  # the configs with the best losses fail on the first budget

    order = run_one_at_a_time(iteration, lambda r: r.config["x"], fail=lambda r: r.config["x"] in failing)
    promoted = [r.config["x"] for r in order if r.budget > 1]
    assert promoted and not failing & set(promoted)
    assert sorted(r.config["x"] for r in order if r.budget == 3) == [5, 6, 7]


@pytest.mark.parametrize("klass", [RankReductionIteration, AsyncRankReductionIteration])
def test_a_stage_where_everything_failed_ends_the_bracket(klass):
    iteration = klass(0, [3, 1], [1, 3], counter_sampler())
    order = run_one_at_a_time(iteration, lambda r: 0.0, fail=lambda r: True)
    assert [r.budget for r in order] == [1.0, 1.0, 1.0] and iteration.get_next_run() is None


@pytest.mark.parametrize("seed", range(5))
def test_async_runs_as_many_evaluations_per_budget_as_sync(seed):
    def loss_of(request):  # a fixed random loss per config and budget
        return hash((seed, request.config["x"], request.budget)) % 1000

    counts = {}
    for klass in (RankReductionIteration, AsyncRankReductionIteration):
        iteration = klass(0, [27, 9, 3, 1], [1, 3, 9, 27], counter_sampler())
        counts[klass] = Counter(r.budget for r in run_one_at_a_time(iteration, loss_of))
    assert counts[RankReductionIteration] == counts[AsyncRankReductionIteration] == {1: 27, 3: 9, 9: 3, 27: 1}


def test_sync_waits_for_the_whole_stage_async_does_not():
    for klass, expected_before_full in [(RankReductionIteration, []), (AsyncRankReductionIteration, [3.0])]:
        iteration = klass(0, [4, 2, 1], [1, 2, 3], counter_sampler())
        stage0 = drain(iteration)
        for request, loss in zip(stage0[:2], [1.0, 2.0]):
            iteration.register_result(finish(request, loss))
        assert [r.budget for r in drain(iteration)] == [2.0] * len(expected_before_full)


def test_warm_start_iteration_replays_results_into_the_optimizer(quadratic_space):
    trials = []
    for index, (budget, status) in enumerate([(1.0, "success"), (3.0, "success"), (1.0, "failed"),
                                              (3.0, "cancelled")]):
        trial = Trial(index, (0, 0, index), {"x": float(index), "c": "a"}, budget, {}, TrialStatus.RUNNING)
        trial.finish(TrialStatus(status), float(index) if status == "success" else None)
        trials.append(trial)
    warm = WarmStartIteration(trials)
    assert warm.is_finished and warm.get_next_run() is None
    assert warm.budgets == [1.0, 3.0] and warm.num_configs == [2, 1]
    optimizer = RandomOptimizer()
    optimizer.initialize(quadratic_space, budgets=[1.0, 3.0])
    assert warm.replay(optimizer) == 3
    assert optimizer.observations[1.0].losses == [0.0, float("inf")]
    assert optimizer.observations[3.0].losses == [1.0]
    assert not optimizer.is_new({"x": 1.0, "c": "a"})


def test_warm_start_replay_skips_configs_outside_the_space_and_tells_the_rest(quadratic_space, caplog):
    # it stopped at the first config outside a narrowed range, leaving the optimizer told part of the run
    trials = []
    for index, x in enumerate([0.5, 99.0, 1.5, -99.0, 2.5]):
        trial = Trial(index, (index, 0, 0), {"x": x, "c": "a"}, 1.0, {}, TrialStatus.RUNNING)
        trial.finish(TrialStatus.SUCCESS, x)
        trials.append(trial)
    optimizer = RandomOptimizer()
    optimizer.initialize(quadratic_space)
    assert WarmStartIteration(trials).replay(optimizer) == 3
    assert optimizer.observations[1.0].losses == [0.5, 1.5, 2.5]
    assert "2 of 5 earlier result(s) skipped" in caplog.text and "99.0" in caplog.text


def test_the_final_best_of_a_rung_always_advances_in_async_mode():
    # Early results are bad, the best config of the rung comes back last: a place must be left for it.
    iteration = AsyncRankReductionIteration(0, [9, 3, 1], [1, 3, 9], counter_sampler())
    stage0 = drain(iteration)
    promoted = []
    for request, loss in zip(stage0, [5.0, 6.0, 7.0, 8.0, 9.0, 4.0, 3.0, 2.0, 1.0]):
        iteration.register_result(finish(request, loss))
        promoted += [r.config["x"] for r in drain(iteration)]
    assert promoted == [0, 5, 8]  # two early promotions, then the last and best one


def test_a_rung_keeps_its_successes_ranked_as_they_come():
    rung = Rung(budget=1.0, capacity=6)
    losses = [0.5, None, 0.1, 0.5, 0.9, None]  # arriving in this order; None is a failure
    for config_number, loss in enumerate(losses):
        request = RunRequest((0, 0, config_number), {"x": config_number}, {}, 1.0)
        rung.add_finished(finish(request, loss))
    ranked = rung.ranked()
    assert [(t.loss, t.config_id[2]) for t in ranked] == [(0.1, 2), (0.5, 0), (0.5, 3), (0.9, 4)]  # ties by id
    assert rung.n_successes == 4 and len(rung.finished) == 6
