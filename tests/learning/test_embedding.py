import numpy as np

from ultraopt.learning.embedding import embed_choices, loss_ranks


def test_loss_ranks_are_in_the_unit_interval_and_share_ties():
    ranks = loss_ranks(np.array([3.0, 1.0, 2.0, 1.0, np.inf]))
    assert np.all((ranks > 0) & (ranks < 1))
    assert ranks[1] == ranks[3] < ranks[2] < ranks[0] < ranks[4]


def test_embedding_has_fewer_dimensions_than_choices():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 20, 200)
    coords = embed_choices(codes, loss_ranks(rng.random(200)), 20, n_dims=3)
    assert coords.shape == (20, 3)
    assert embed_choices(codes % 3, loss_ranks(rng.random(200)), 3, n_dims=3).shape[1] == 2


def test_similar_choices_end_up_close():
    # 12 choices in three families; the family decides the loss, the choice within it does not
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 12, 600)
    losses = codes // 4 + 0.3 * rng.standard_normal(600)
    coords = embed_choices(codes, loss_ranks(losses), 12, n_dims=2)
    distance = np.linalg.norm(coords[:, None] - coords[None, :], axis=2)
    family = np.arange(12) // 4
    same = family[:, None] == family[None, :]
    off_diagonal = ~np.eye(12, dtype=bool)
    assert distance[same & off_diagonal].max() < distance[~same].min()
