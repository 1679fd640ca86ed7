"""Token choice in PyTorch: the JAX sampler's candidate rules, checked where noise plays no part.

At temperature 0 the pick is the best remaining candidate, so both samplers must choose the same ids
for any mix of top-k, per-example top-k and top-p; at temperature > 0 only candidates are ever drawn.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from sax_worker.models import sampling as jax_sampling
from sax_worker.torch_models import sampling

LOGITS = np.random.default_rng(0).standard_normal((6, 50)).astype(np.float32) * 3


def both(top_k, per_example_top_k, top_p, temperature=0.0):
    """(torch ids, JAX ids) for LOGITS with the knobs given per row."""
    rows = LOGITS.shape[0]
    knobs = {
        "temperature": np.full(rows, temperature, np.float32),
        "per_example_top_k": np.asarray(per_example_top_k, np.int32),
        "top_p": np.asarray(top_p, np.float32),
    }
    ours = sampling.sample(
        torch.from_numpy(LOGITS),
        torch.Generator().manual_seed(0),
        top_k=top_k,
        **{name: torch.from_numpy(value) for name, value in knobs.items()},
    )
    theirs = jax_sampling.sample(
        jnp.asarray(LOGITS), jax.random.key(0), top_k=top_k, **{k: jnp.asarray(v) for k, v in knobs.items()}
    )
    return ours.numpy(), np.asarray(theirs)


@pytest.mark.parametrize("top_k", [0, 1, 5, 40])
def test_temperature_zero_picks_what_the_jax_sampler_picks(top_k):
    ours, theirs = both(top_k, [0, 1, 3, 5, 40, 2], [np.nan, 0.0, 0.5, 0.9, 1.0, np.nan])

    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, LOGITS.argmax(-1))


def test_greedy_is_the_first_maximum():
    logits = torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])

    assert sampling.greedy(logits).tolist() == [1, 0]


def test_draws_only_within_the_per_example_top_k_and_top_p():
    generator = torch.Generator().manual_seed(1)
    logits = torch.from_numpy(LOGITS)
    rows = LOGITS.shape[0]
    top3 = np.argsort(-LOGITS, axis=-1)[:, :3]
    for _ in range(20):
        ids = sampling.sample(
            logits,
            generator,
            top_k=10,
            temperature=torch.full((rows,), 5.0),
            per_example_top_k=torch.full((rows,), 3),
            top_p=torch.full((rows,), float("nan")),
        )
        assert all(ids[r].item() in top3[r] for r in range(rows))
