"""The PyTorch LLaMA decoder against the JAX one and Hugging Face's on the same float32 weights.

Weights come from ``init_params`` (norm scales drawn around 1 so that each one's place matters) and reach
torch through ``torch_weights``, the conversion the servable uses; logits must agree within 1e-4.
"""

import numpy as np
import pytest
import torch

from llama_parity import CPU, arrays_and_params, jax_logits, padded_batch, torch_logits
from sax_worker.hf_interop import hf_model
from sax_worker.torch_models import decoder
from sax_worker.torch_models.weights import torch_weights
from tiny_models import PARITY_ARCHITECTURES

TOLERANCE = 1e-4
ARCHITECTURES = PARITY_ARCHITECTURES


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
