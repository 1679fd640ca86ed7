"""The PyTorch LLaMA decoder against the JAX one and Hugging Face's on the same float32 weights.

Weights come from ``init_params`` (norm scales drawn around 1 so that each one's place matters) and reach
torch through ``torch_weights``, the conversion the servable uses; logits must agree within 1e-4.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from hf_llama import params_from_arrays
from sax_worker.hf_interop import checkpoint_arrays, hf_model
from sax_worker.models import decoder as jax_decoder
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import init_params
from sax_worker.torch_models import decoder
from sax_worker.torch_models.weights import torch_weights
from tiny_models import PARITY_ARCHITECTURES

TOLERANCE = 1e-4
ARCHITECTURES = PARITY_ARCHITECTURES
CPU = torch.device("cpu")


def arrays_and_params(name):
    """(cfg, §5.3 arrays, host serving tree) with seeded weights and norm scales around 1."""
    cfg = DecoderConfig.from_dict(ARCHITECTURES[name])
    arrays = checkpoint_arrays(cfg, init_params(cfg, jax.random.key(0)))
    rng = np.random.default_rng(0)
    for key, value in arrays.items():
        if key.endswith(".scale"):
            arrays[key] = (1 + 0.2 * rng.standard_normal(value.shape)).astype(np.float32)
    return cfg, arrays, jax.device_get(params_from_arrays(cfg, arrays))


def padded_batch(cfg, lengths=(32, 20, 7)):
    """Right-padded ids [B, T] and their valid mask."""
    ids = np.random.default_rng(1).integers(0, cfg.vocab_size, (len(lengths), max(lengths)), dtype=np.int32)
    valid = np.arange(max(lengths))[None, :] < np.asarray(lengths)[:, None]
    return ids, valid


def torch_logits(cfg, params, ids, valid):
    weights = torch_weights(cfg, params, CPU)
    with torch.inference_mode():
        logits, _, _ = decoder.forward(weights, cfg, torch.from_numpy(ids).long(), torch.from_numpy(valid))
    return logits.numpy()


def jax_logits(cfg, params, ids, valid):
    positions = jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape)
    logits, _ = jax.jit(jax_decoder.forward, static_argnums=1)(params, cfg, ids, positions, valid)
    return np.asarray(logits)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_logits_match_the_jax_decoder_on_padded_rows(name):
    cfg, _, params = arrays_and_params(name)
    ids, valid = padded_batch(cfg)

    ours, theirs = torch_logits(cfg, params, ids, valid), jax_logits(cfg, params, ids, valid)

    assert ours.std() > 0.5  # spread-out logits, so that agreement means something
    np.testing.assert_allclose(ours[valid], theirs[valid], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_logits_match_hugging_face(name):
    cfg, arrays, params = arrays_and_params(name)
    ids, valid = padded_batch(cfg, lengths=(24, 24))

    with torch.no_grad():
        theirs = hf_model(cfg, arrays)(input_ids=torch.from_numpy(ids).long()).logits.numpy()

    np.testing.assert_allclose(torch_logits(cfg, params, ids, valid), theirs, rtol=0, atol=TOLERANCE)


def test_decoding_with_the_kv_cache_gives_the_full_forward_logits():
    cfg, _, params = arrays_and_params("gqa")
    weights = torch_weights(cfg, params, CPU)
    ids, _ = padded_batch(cfg, lengths=(12, 12))
    full = torch_logits(cfg, params, ids, np.ones_like(ids, bool))
    prompt = 5
    with torch.inference_mode():
        _, _, attended = decoder.forward(
            weights, cfg, torch.from_numpy(ids[:, :prompt]).long(), torch.ones(2, 5).bool()
        )
        cache = decoder.empty_cache(cfg, 2, ids.shape[1], CPU, torch.float32)
        for layer, (k, v) in enumerate(attended):
            cache.k[layer, :, :, :prompt], cache.v[layer, :, :, :prompt] = k, v
        cache.lengths[:] = prompt
        steps = [
            decoder.decode_step(
                weights, cfg, cache, torch.from_numpy(ids[:, t]).long(), torch.ones(2).bool(), t + 1
            )
            for t in range(prompt, ids.shape[1])
        ]

    np.testing.assert_allclose(np.stack(steps, 1), full[:, prompt:], rtol=0, atol=TOLERANCE)
