import math

import numpy as np
import pytest
from scipy import integrate, stats

from ultraopt.learning.acquisition import LossTransform, expected_improvement, log_expected_improvement


def test_log_transform_maps_the_range_and_keeps_the_order():
    losses = np.array([3.0, 1.0, 11.0, 2.0])
    transform = LossTransform("log").fit(losses)
    assert np.all(np.diff(transform.targets[np.argsort(losses)]) > 0)
    assert transform.targets.max() == pytest.approx(0.0)
    pole_distance = np.percentile(losses, 5) - 1.0  # SMAC's rule: the best loss's distance to the 5th percentile
    assert transform.incumbent == pytest.approx(math.log(pole_distance / (10.0 + pole_distance)))
    assert transform.incumbent == pytest.approx(float(transform.transform(1.0)))
    np.testing.assert_allclose(transform.inverse(transform.targets), losses)
    # Scale-free: shifting and scaling the losses gives the same targets.
    np.testing.assert_allclose(LossTransform("log").fit(1e6 + 1e3 * losses).targets, transform.targets, atol=1e-9)


def test_failures_are_imputed_as_the_worst_transformed_loss():
    transform = LossTransform("log").fit(np.array([2.0, np.inf, 5.0, np.nan]))
    assert transform.targets[1] == transform.targets[3] == transform.targets.max() == pytest.approx(0.0)
    assert np.isfinite(transform.targets).all()
    with pytest.raises(ValueError, match="finite"):
        LossTransform().fit(np.array([np.inf]))


def test_constant_losses_do_not_divide_by_zero():
    transform = LossTransform("log").fit(np.array([4.0, 4.0]))
    assert np.isfinite(transform.targets).all() and transform.incumbent == transform.targets[0]


def test_losses_spanning_more_than_the_float_range_keep_their_order():
    losses = np.array([1e308, -1e308, 0.0, 5e307])
    transform = LossTransform("log").fit(losses)
    assert np.isfinite(transform.targets).all()
    assert np.all(np.diff(transform.targets[np.argsort(losses)]) > 0)
    np.testing.assert_allclose(transform.inverse(transform.targets), losses, atol=1e-12 * 1e308)
    # The same targets as for losses in a smaller unit: the transform is scale-free.
    np.testing.assert_allclose(LossTransform("log").fit(losses / 1e300).targets, transform.targets, atol=1e-9)


def test_ei_matches_its_integral_definition():
    transform = LossTransform("identity").fit(np.array([0.3, 1.0]))
    for mean, std in [(0.5, 0.2), (0.3, 1.0), (-1.0, 0.1), (2.0, 0.5)]:
        def integrand(y, mean=mean, std=std):
            return max(0.3 - y, 0.0) * stats.norm.pdf(y, mean, std)

        expected = integrate.quad(integrand, -20, 20, points=[0.3])[0]
        ei = expected_improvement(np.array([mean]), np.array([std]), transform)[0]
        assert ei == pytest.approx(expected, abs=1e-8)
    # zero spread: the plain improvement
    np.testing.assert_allclose(expected_improvement(np.array([0.1, 0.5]), np.zeros(2), transform), [0.2, 0.0])


def test_ei_is_highest_where_the_mean_is_low_and_where_the_spread_is_high():
    """On the transformed scale: lower mean at equal spread wins, larger spread at equal mean wins."""
    transform = LossTransform("log").fit(np.array([1.0, 2.0, 5.0, 10.0]))
    best = transform.incumbent
    means = best + np.array([-0.5, 0.0, 0.5, 1.0])
    for acquisition in (expected_improvement, log_expected_improvement):
        by_mean = acquisition(means, np.full(4, 0.3), transform)
        assert np.all(np.diff(by_mean) < 0), acquisition.__name__
        by_spread = acquisition(np.full(4, best + 0.5), np.array([0.05, 0.2, 0.5, 2.0]), transform)
        assert np.all(np.diff(by_spread) > 0), acquisition.__name__
    # Exploration: a worse mean with a wide spread beats a slightly better but certain one.
    ei = expected_improvement(np.array([best + 0.1, best + 0.5]), np.array([0.01, 1.0]), transform)
    assert ei[1] > ei[0]


def test_log_ei_is_log_of_ei_and_stays_finite_far_from_the_incumbent():
    transform = LossTransform("identity").fit(np.array([0.0, 1.0]))
    rng = np.random.default_rng(0)
    mean, std = rng.normal(0, 2, 500), rng.uniform(0.01, 2, 500)
    ei, log_ei = expected_improvement(mean, std, transform), log_expected_improvement(mean, std, transform)
    positive = ei > 0
    assert positive.sum() > 450 and np.isfinite(log_ei).all()
    np.testing.assert_allclose(log_ei[positive], np.log(ei[positive]), rtol=1e-7)
    far = log_expected_improvement(np.array([10.0, 40.0, 1e4, 1e9]), np.array([0.1, 0.1, 0.1, 0.1]), transform)
    assert np.isfinite(far).all() and np.all(np.diff(far) < 0)
    assert expected_improvement(np.array([40.0]), np.array([0.1]), transform)[0] == 0.0  # where EI underflows
    # continuity across the branches of the stable formula
    for edge in (-1.0, -1.0 / np.sqrt(np.finfo(float).eps)):
        z = edge + np.abs(edge) * np.array([-1e-9, 1e-9])
        values = log_expected_improvement(-z, np.ones(2), transform)  # incumbent 0, so z = -mean
        assert values[0] == pytest.approx(values[1], rel=1e-6)


def test_ei_needs_the_transform_not_a_raw_number():
    """The incumbent has to come from the transform the model targets came from."""
    with pytest.raises(TypeError, match="LossTransform"):
        expected_improvement(np.zeros(2), np.ones(2), 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not fitted"):
        log_expected_improvement(np.zeros(2), np.ones(2), LossTransform())


def test_mixing_raw_and_transformed_losses_degrades_ei_to_ranking_by_mean():
    """The defect of the 2021 library, reproduced: a raw incumbent against a log-scale model.

    Candidate A is predicted slightly better than B but is certain; B is uncertain. On the model's scale EI
    prefers B (it may well improve on the incumbent); with the raw incumbent (here 100, far above every
    log-scale prediction) every candidate "improves" by about incumbent - mean, so EI just ranks by mean (A).
    """
    raw = np.array([100.0, 150.0, 300.0, 1000.0])
    transform = LossTransform("log").fit(raw)
    mean = np.array([transform.incumbent + 0.2, transform.incumbent + 0.4])
    std = np.array([0.05, 1.0])
    assert np.argmax(expected_improvement(mean, std, transform)) == 1

    mixed = LossTransform("identity").fit(raw)  # what using the raw best loss amounts to
    assert np.argmax(expected_improvement(mean, std, mixed)) == 0
