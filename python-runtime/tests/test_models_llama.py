"""The plain-JAX LLaMA against hand-computed references and its own invariants (spec data-plane §12)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sax_worker.models import llama
from sax_worker.models.llama_config import LlamaConfig, RopeScaling
from sax_worker.models.llama_params import flatten_params, init_params, param_shapes, unflatten_params

GQA = LlamaConfig(
    num_layers=2,
    model_dims=32,
    hidden_dims=64,
    num_heads=4,
    num_kv_heads=2,
    dims_per_head=8,
    vocab_size=64,
    use_mqa=True,
    dtype="float32",
)


# Jitted: op-by-op execution would compile every primitive separately, seconds per test on CPU.
forward = jax.jit(llama.forward, static_argnums=1)
apply = jax.jit(llama.apply, static_argnums=1)


def full_logits(params, cfg, ids):
    ids = jnp.asarray(ids)
    positions = jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape)
    logits, _ = forward(params, cfg, ids, positions, jnp.ones(ids.shape, bool))
    return logits


@pytest.fixture(scope="module")
def params():
    return init_params(GQA, jax.random.key(0))


def test_rms_norm_matches_a_hand_computed_value():
    x = jnp.array([[3.0, 4.0]])
    scale = jnp.array([2.0, 0.5])

    out = llama.rms_norm(x, scale, eps=1e-5)

    rms = np.sqrt((9 + 16) / 2 + 1e-5)
    np.testing.assert_allclose(out, [[3 / rms * 2.0, 4 / rms * 0.5]], rtol=1e-6)


def test_rope_rotates_interleaved_pairs_with_per_pair_frequencies():
    x = jnp.array([1.0, 0.0, 0.0, 1.0]).reshape(1, 1, 1, 4)  # [B, T, heads, H=4]

    out = llama.rope(x, jnp.array([[1]]), llama.rope_frequencies(4, theta=10_000.0))

    # Pair 0 turns by 1 rad (frequency 1); pair 1 by 1/100 rad (frequency 10000^(-2/4)).
    expected = [np.cos(1.0), np.sin(1.0), -np.sin(0.01), np.cos(0.01)]
    np.testing.assert_allclose(out.reshape(-1), expected, rtol=1e-6, atol=1e-7)


def test_rope_equals_metas_complex_formulation():
    h, theta = 8, 500_000.0
    x = np.random.default_rng(0).standard_normal((1, 3, 2, h)).astype(np.float32)
    positions = np.array([[0, 5, 17]])

    out = llama.rope(jnp.asarray(x), jnp.asarray(positions), llama.rope_frequencies(h, theta))

    freqs = 1.0 / theta ** (np.arange(0, h, 2) / h)
    rotation = np.exp(1j * positions[:, :, None, None] * freqs)
    expected = (x[..., 0::2] + 1j * x[..., 1::2]) * rotation
    np.testing.assert_allclose(out[..., 0::2], expected.real, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[..., 1::2], expected.imag, rtol=1e-5, atol=1e-5)


def test_rope_at_position_zero_is_the_identity():
    x = jnp.arange(16.0).reshape(1, 1, 2, 8)
    freqs = llama.rope_frequencies(8, 10_000.0)
    np.testing.assert_array_equal(llama.rope(x, jnp.zeros((1, 1), jnp.int32), freqs), x)


def test_llama31_rope_scaling_keeps_high_divides_low_and_blends_middle_frequencies():
    h, theta = 128, 500_000.0
    plain = llama.rope_frequencies(h, theta)
    scaled = llama.rope_frequencies(h, theta, RopeScaling())  # factor 8, low 1, high 4, context 8192

    wavelength = 2 * np.pi / plain
    short, long = wavelength < 8192 / 4, wavelength > 8192
    middle = ~short & ~long
    assert short.any()
    assert long.any()
    assert middle.any()
    np.testing.assert_array_equal(scaled[short], plain[short])
    np.testing.assert_allclose(scaled[long], plain[long] / 8, rtol=1e-6)
    s = (8192 / wavelength[middle] - 1) / 3
    np.testing.assert_allclose(scaled[middle], (1 - s) * plain[middle] / 8 + s * plain[middle], rtol=1e-5)


def test_param_tree_uses_the_spec_names_and_shapes():
    shapes = param_shapes(GQA)

    assert shapes["lm.embedding_lookup.emb_var"] == (64, 32)
    assert shapes["lm.softmax.logits_ffn.linear.w"] == (32, 64)
    assert shapes["lm.transformer.x_layers_1.self_attention.key.w"] == (32, 2, 8)
    assert shapes["lm.transformer.x_layers_0.ff_layer.ffn_layer2.linear.w"] == (64, 32)
    mha = param_shapes(dataclasses.replace(GQA, num_kv_heads=4, use_mqa=False))
    assert mha["lm.transformer.x_layers_0.self_attention.combined_qkv.w"] == (3, 32, 4, 8)
    assert "lm.transformer.x_layers_0.self_attention.query.w" not in mha


def test_seeded_init_is_deterministic_and_seed_dependent():
    a = flatten_params(init_params(GQA, jax.random.key(7)))
    b = flatten_params(init_params(GQA, jax.random.key(7)))
    c = flatten_params(init_params(GQA, jax.random.key(8)))

    name = "lm.transformer.x_layers_0.self_attention.query.w"
    np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a[name], c[name])


def test_logits_at_a_position_ignore_later_tokens(params):
    ids = np.array([[1, 5, 9, 13, 17, 21]])
    changed = ids.copy()
    changed[0, 4:] = [40, 41]

    a, b = full_logits(params, GQA, ids), full_logits(params, GQA, changed)

    np.testing.assert_allclose(a[:, :4], b[:, :4], rtol=1e-5, atol=1e-5)
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_grouped_query_attention_equals_mha_with_repeated_kv_heads(params):
    mha_cfg = dataclasses.replace(GQA, num_kv_heads=GQA.num_heads, use_mqa=False)
    flat = flatten_params(params)
    for i in range(GQA.num_layers):
        p = f"lm.transformer.x_layers_{i}.self_attention"
        # Query head n reads kv head n // G, so kv head k is repeated for heads k*G .. k*G+G-1.
        wk, wv = (
            jnp.repeat(flat.pop(f"{p}.{n}.w"), GQA.queries_per_kv_head, axis=1) for n in ("key", "value")
        )
        flat[f"{p}.combined_qkv.w"] = jnp.stack([flat.pop(f"{p}.query.w"), wk, wv])
    ids = np.array([[3, 1, 4, 1, 5, 9, 2, 6]])

    gqa_logits = full_logits(params, GQA, ids)
    mha_logits = full_logits(unflatten_params(flat), mha_cfg, ids)

    np.testing.assert_allclose(gqa_logits, mha_logits, rtol=1e-5, atol=1e-5)


def test_decoding_with_the_kv_cache_matches_the_full_forward(params):
    prompt, generated = [1, 7, 3, 11], [20, 30, 40]
    bucket, pad = 8, 8 - 4
    ids = jnp.asarray([[0] * pad + prompt])  # right-aligned in its bucket, as the decoder pads prompts
    slots = jnp.arange(bucket)[None]
    cache = llama.empty_cache(GQA, 1, bucket + len(generated))
    logits, _, cache = apply(params, GQA, ids, jnp.maximum(slots - pad, 0), slots >= pad, cache, 0)
    step_logits = [logits[0, -1]]
    for i, token in enumerate(generated):
        position = jnp.asarray([[len(prompt) + i]])
        valid = jnp.ones((1, 1), bool)
        logits, _, cache = apply(params, GQA, jnp.asarray([[token]]), position, valid, cache, bucket + i)
        step_logits.append(logits[0, 0])

    reference = full_logits(params, GQA, [prompt + generated])[0, len(prompt) - 1 :]
    np.testing.assert_allclose(jnp.stack(step_logits), reference, rtol=1e-4, atol=1e-4)


def test_bfloat16_forward_stays_close_to_float32(params):
    bf16 = dataclasses.replace(GQA, dtype="bfloat16")
    bf16_params = jax.tree_util.tree_map(lambda x: x.astype(jnp.bfloat16), params)
    ids = [[1, 2, 3, 4, 5]]

    a = jax.nn.log_softmax(full_logits(params, GQA, ids))
    b = jax.nn.log_softmax(full_logits(bf16_params, bf16, ids))

    assert b.dtype == jnp.float32
    np.testing.assert_allclose(a, b, atol=0.25)
