"""The plain-JAX decoder against hand-computed references and its own invariants (spec §2.3, §12)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sax_worker.models import decoder
from sax_worker.models.decoder_config import DecoderConfig, RopeScaling
from sax_worker.models.decoder_params import checkpoint_shapes, device_tree, init_params

GQA = DecoderConfig(
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
# LmCloudSpmd's features on a small shape.
LM_CLOUD = DecoderConfig(
    family="lm_cloud",
    num_layers=2,
    model_dims=32,
    hidden_dims=64,
    num_heads=4,
    num_kv_heads=4,
    dims_per_head=8,
    vocab_size=64,
    attention_logit_cap=50.0,
    output_logit_cap=30.0,
    norm_eps=1e-6,
    dtype="float32",
)


# Jitted: op-by-op execution would compile every primitive separately, seconds per test on CPU.
forward = jax.jit(decoder.forward, static_argnums=1)
prefill = jax.jit(decoder.prefill, static_argnums=1)
decode_step = jax.jit(decoder.decode_step, static_argnums=1)


def full_logits(params, cfg, ids):
    """Logits of whole sequences under a serving tree (stacked, as tests draw and edit it)."""
    ids = jnp.asarray(ids)
    positions = jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape)
    logits, _ = forward(device_tree(cfg, params), cfg, ids, positions, jnp.ones(ids.shape, bool))
    return logits


@pytest.fixture(scope="module")
def params():
    return init_params(GQA, jax.random.key(0))


def test_rms_norm_matches_a_hand_computed_value():
    x = jnp.array([[3.0, 4.0]])
    scale = jnp.array([2.0, 0.5])

    out = decoder.norm(x, {"scale": scale}, GQA)

    rms = np.sqrt((9 + 16) / 2 + 1e-5)
    np.testing.assert_allclose(out, [[3 / rms * 2.0, 4 / rms * 0.5]], rtol=1e-6)


def test_layer_norm_applies_one_plus_scale_and_bias():
    x = jnp.array([[1.0, 3.0]])  # mean 2, variance 1
    out = decoder.norm(x, {"scale": jnp.array([1.0, -0.5]), "bias": jnp.array([0.25, 0.0])}, LM_CLOUD)

    std = np.sqrt(1 + 1e-6)
    np.testing.assert_allclose(out, [[-1 / std * 2.0 + 0.25, 1 / std * 0.5]], rtol=1e-6)


def test_sinusoid_is_sin_then_cos_over_geometric_timescales():
    signal = np.asarray(decoder.sinusoid(jnp.array([[0, 3]]), 8))  # D/2 = 4 timescales 1 .. 10000

    inv = 10_000.0 ** -(np.arange(4) / 3)
    np.testing.assert_allclose(signal[0, 0], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-7)
    np.testing.assert_allclose(signal[0, 1], np.concatenate([np.sin(3 * inv), np.cos(3 * inv)]), rtol=1e-5)


def test_rope_rotates_interleaved_pairs_with_per_pair_frequencies():
    x = jnp.array([1.0, 0.0, 0.0, 1.0]).reshape(1, 1, 1, 4)  # [B, T, heads, H=4]

    out = decoder.rope(x, jnp.array([[1]]), decoder.rope_frequencies(4, theta=10_000.0))

    # Pair 0 turns by 1 rad (frequency 1); pair 1 by 1/100 rad (frequency 10000^(-2/4)).
    expected = [np.cos(1.0), np.sin(1.0), -np.sin(0.01), np.cos(0.01)]
    np.testing.assert_allclose(out.reshape(-1), expected, rtol=1e-6, atol=1e-7)


def test_rope_equals_metas_complex_formulation():
    h, theta = 8, 500_000.0
    x = np.random.default_rng(0).standard_normal((1, 3, 2, h)).astype(np.float32)
    positions = np.array([[0, 5, 17]])

    out = decoder.rope(jnp.asarray(x), jnp.asarray(positions), decoder.rope_frequencies(h, theta))

    freqs = 1.0 / theta ** (np.arange(0, h, 2) / h)
    rotation = np.exp(1j * positions[:, :, None, None] * freqs)
    expected = (x[..., 0::2] + 1j * x[..., 1::2]) * rotation
    np.testing.assert_allclose(out[..., 0::2], expected.real, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[..., 1::2], expected.imag, rtol=1e-5, atol=1e-5)


def test_rope_at_position_zero_is_the_identity():
    x = jnp.arange(16.0).reshape(1, 1, 2, 8)
    freqs = decoder.rope_frequencies(8, 10_000.0)
    np.testing.assert_array_equal(decoder.rope(x, jnp.zeros((1, 1), jnp.int32), freqs), x)


def test_llama31_rope_scaling_keeps_high_divides_low_and_blends_middle_frequencies():
    h, theta = 128, 500_000.0
    plain = decoder.rope_frequencies(h, theta)
    scaled = decoder.rope_frequencies(h, theta, RopeScaling())  # factor 8, low 1, high 4, context 8192

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


def test_checkpoint_names_and_shapes_are_the_specs():
    shapes = checkpoint_shapes(GQA)

    assert shapes["lm.embedding_lookup.emb_var"] == (64, 32)
    assert shapes["lm.softmax.logits_ffn.linear.w"] == (32, 64)
    assert shapes["lm.transformer.x_layers_1.self_attention.key.w"] == (32, 2, 8)
    assert shapes["lm.transformer.x_layers_0.ff_layer.ffn_layer2.linear.w"] == (64, 32)
    mha = checkpoint_shapes(dataclasses.replace(GQA, num_kv_heads=4, use_mqa=False))
    assert mha["lm.transformer.x_layers_0.self_attention.combined_qkv.w"] == (3, 32, 4, 8)
    assert "lm.transformer.x_layers_0.self_attention.query.w" not in mha
    stacked = checkpoint_shapes(LM_CLOUD)
    assert stacked["lm.transformer.repeat.sub.x_layers_0.self_attention.combined_qkv.w"] == (2, 3, 32, 4, 8)
    assert stacked["lm.transformer.repeat.sub.x_layers_0.ff_layer.ffn_layer1.bias.b"] == (2, 64)
    assert stacked["lm.final_ln.bias"] == (32,)
    assert "lm.embedding_lookup.emb_var" not in stacked


def test_seeded_init_is_deterministic_and_seed_dependent():
    a, b, c = (init_params(GQA, jax.random.key(seed))["layers"]["q"] for seed in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_logits_at_a_position_ignore_later_tokens(params):
    ids = np.array([[1, 5, 9, 13, 17, 21]])
    changed = ids.copy()
    changed[0, 4:] = [40, 41]

    a, b = full_logits(params, GQA, ids), full_logits(params, GQA, changed)

    np.testing.assert_allclose(a[:, :4], b[:, :4], rtol=1e-5, atol=1e-5)
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_grouped_query_attention_equals_mha_with_repeated_kv_heads(params):
    mha_cfg = dataclasses.replace(GQA, num_kv_heads=GQA.num_heads, use_mqa=False)
    layers = dict(params["layers"])
    # Query head n reads kv head n // G, so kv head k is repeated for heads k*G .. k*G+G-1.
    wk, wv = (jnp.repeat(layers.pop(n), GQA.queries_per_kv_head, axis=2) for n in ("k", "v"))
    layers["qkv"] = jnp.stack([layers.pop("q"), wk, wv], axis=1)  # [L, 3, D, N, H]
    ids = np.array([[3, 1, 4, 1, 5, 9, 2, 6]])

    gqa_logits = full_logits(params, GQA, ids)
    mha_logits = full_logits({**params, "layers": layers}, mha_cfg, ids)

    np.testing.assert_allclose(gqa_logits, mha_logits, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cfg", [GQA, LM_CLOUD], ids=["llama", "lm_cloud"])
def test_slots_decoding_at_different_lengths_match_the_full_forward(cfg):
    """Two slots at different positions step together, as under continuous batching."""
    params = init_params(cfg, jax.random.key(1))
    prompts, generated = [[1, 7, 3, 11], [2, 9]], [[20, 30, 40], [50, 60, 5]]
    bucket = 6
    ids = jnp.asarray([p + [0] * (bucket - len(p)) for p in prompts])  # right-padded
    lengths = jnp.asarray([len(p) for p in prompts])
    last, keys, values = prefill(device_tree(cfg, params), cfg, ids, lengths)
    cache = decoder.insert(decoder.empty_cache(cfg, 2, bucket + 3), keys, values, lengths, jnp.arange(2))
    steps = [last]
    for i in range(3):
        tokens = jnp.asarray([g[i] for g in generated])
        step_logits, cache = decode_step(device_tree(cfg, params), cfg, cache, tokens, jnp.ones(2, bool))
        steps.append(step_logits)

    for row, (prompt, gen) in enumerate(zip(prompts, generated, strict=True)):
        reference = full_logits(params, cfg, [prompt + gen])[0, len(prompt) - 1 :]
        decoded = jnp.stack([s[row] for s in steps])
        np.testing.assert_allclose(decoded, reference, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(cache.lengths, lengths + 3)


def test_a_slot_that_does_not_advance_keeps_its_length_and_its_neighbours_answers():
    params = device_tree(GQA, init_params(GQA, jax.random.key(2)))
    cache = decoder.empty_cache(GQA, 2, 4)
    tokens = jnp.asarray([5, 6])
    a, cache_a = decode_step(params, GQA, cache, tokens, jnp.asarray([True, False]))
    b, _ = decode_step(params, GQA, cache, tokens, jnp.asarray([True, True]))

    np.testing.assert_array_equal(cache_a.lengths, [1, 0])
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6)


def test_lm_cloud_caps_output_logits_and_ties_the_embedding():
    params = init_params(LM_CLOUD, jax.random.key(3))
    big = {**params, "softmax": params["softmax"] * 100.0}
    logits = full_logits(big, LM_CLOUD, [[1, 2, 3]])
    assert float(jnp.max(jnp.abs(logits))) <= 30.0
    # The embedding is the softmax weight, transposed and scaled by sqrt(D).
    emb = decoder.embed(params, LM_CLOUD, jnp.asarray([[4]]), jnp.asarray([[0]]))
    expected = params["softmax"][:, 4] * np.sqrt(32) + decoder.sinusoid(jnp.asarray([[0]]), 32)[0, 0]
    np.testing.assert_allclose(emb[0, 0], expected, rtol=1e-5)


def test_bfloat16_forward_stays_close_to_float32(params):
    bf16 = dataclasses.replace(GQA, dtype="bfloat16")
    bf16_params = jax.tree_util.tree_map(lambda x: x.astype(jnp.bfloat16), params)
    ids = [[1, 2, 3, 4, 5]]

    a = jax.nn.log_softmax(full_logits(params, GQA, ids))
    b = jax.nn.log_softmax(full_logits(bf16_params, bf16, ids))

    assert b.dtype == jnp.float32
    np.testing.assert_allclose(a, b, atol=0.25)
