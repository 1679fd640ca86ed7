"""Next-token choice: greedy, top-k, per-example top-k, top-p and temperature (spec data-plane §3.3)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from sax_worker.models import sampling

LOGITS = jnp.log(jnp.array([[0.05, 0.4, 0.3, 0.2, 0.05]]))  # ranks: 1, 2, 3, then 0 and 4 tied


@functools.partial(jax.jit, static_argnames=("top_k", "draws"))
def draw(key, *, top_k, temperature, per_example_top_k=5, top_p=float("nan"), draws=400):
    """``draws`` samples from LOGITS, one key each."""
    logits = jnp.repeat(LOGITS, draws, axis=0)

    def row(value, dtype):
        return jnp.full((draws,), value, dtype)

    return sampling.sample(
        logits,
        key,
        top_k=top_k,
        temperature=row(temperature, jnp.float32),
        per_example_top_k=row(per_example_top_k, jnp.int32),
        top_p=row(top_p, jnp.float32),
    )


def counts(ids):
    return np.bincount(np.asarray(ids), minlength=5)


def test_greedy_picks_the_first_maximum():
    assert sampling.greedy(jnp.array([[0.0, 2.0, 2.0, 1.0]])).tolist() == [1]


def test_first_argmax_agrees_with_argmax_on_ties_infinities_and_nans():
    rows = np.random.default_rng(0).integers(-2, 3, size=(64, 50)).astype(np.float32)  # many ties
    rows[1], rows[2, 7], rows[3, [4, 9]] = -np.inf, np.inf, np.nan
    rows[4, 0], rows[5, -1] = np.nan, np.nan
    got = jax.jit(sampling.first_argmax)(jnp.asarray(rows))
    assert got.dtype == jnp.int32
    np.testing.assert_array_equal(got, np.argmax(rows, axis=-1))


def test_greedy_with_log_prob_is_argmax_and_its_log_softmax():
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((8, 300)) * 4).astype(np.float32)
    logits[1, [3, 40]] = logits[1].max() + 1  # a tie: the first one counts

    ids, log_probs = jax.jit(sampling.greedy_with_log_prob)(jnp.asarray(logits))

    np.testing.assert_array_equal(ids, np.argmax(logits, axis=-1))
    want = jax.nn.log_softmax(jnp.asarray(logits), axis=-1)[np.arange(8), np.argmax(logits, axis=-1)]
    np.testing.assert_allclose(log_probs, want, rtol=1e-6, atol=1e-6)
    assert int(ids[1]) == 3


def test_temperature_zero_is_argmax():
    assert set(np.asarray(draw(jax.random.key(0), top_k=0, temperature=0.0)).tolist()) == {1}


def test_sampling_only_picks_among_the_top_k():
    ids = draw(jax.random.key(1), top_k=2, temperature=1.0)
    c = counts(ids)
    assert c[[0, 3, 4]].sum() == 0
    assert c[1] > 0
    assert c[2] > 0


def test_per_example_top_k_narrows_the_configured_top_k():
    ids = draw(jax.random.key(2), top_k=4, temperature=1.0, per_example_top_k=1)
    assert set(np.asarray(ids).tolist()) == {1}


def test_per_example_top_k_of_zero_picks_uniformly_among_the_top_k():
    ids = draw(jax.random.key(3), top_k=3, temperature=1.0, per_example_top_k=0)
    c = counts(ids)
    assert c[[0, 4]].sum() == 0
    assert c[[1, 2, 3]].min() > 80  # ~133 each when uniform; 0.2-probability id 3 would get ~80 otherwise


def test_top_p_keeps_the_smallest_prefix_reaching_p():
    c = counts(draw(jax.random.key(4), top_k=0, temperature=1.0, top_p=0.6))
    assert c[[0, 3, 4]].sum() == 0  # 0.4 + 0.3 >= 0.6 after two candidates
    assert c[1] > 0
    assert c[2] > 0


def test_top_p_of_one_or_nan_is_disabled_and_zero_is_top_1():
    assert counts(draw(jax.random.key(5), top_k=0, temperature=1.0, top_p=1.0))[[0, 3, 4]].sum() > 0
    assert set(np.asarray(draw(jax.random.key(5), top_k=0, temperature=1.0, top_p=0.0)).tolist()) == {1}


def test_the_same_key_draws_the_same_ids():
    a = draw(jax.random.key(6), top_k=0, temperature=1.0)
    b = draw(jax.random.key(6), top_k=0, temperature=1.0)
    np.testing.assert_array_equal(a, b)
