"""Running the JAX and PyTorch LLaMA decoders on the same float32 weights, for the parity tests."""

import jax
import jax.numpy as jnp
import numpy as np
import torch

from hf_llama import params_from_arrays
from sax_worker.hf_interop import checkpoint_arrays
from sax_worker.models import decoder as jax_decoder
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import device_tree, init_params
from sax_worker.torch_models import decoder
from sax_worker.torch_models.weights import torch_weights
from tiny_models import PARITY_ARCHITECTURES

CPU = torch.device("cpu")


def arrays_and_params(name):
    """(cfg, §5.3 arrays, host serving tree) with seeded weights and norm scales around 1."""
    cfg = DecoderConfig.from_dict(PARITY_ARCHITECTURES[name])
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
    forward = jax.jit(jax_decoder.forward, static_argnums=1)
    logits, _ = forward(device_tree(cfg, params), cfg, ids, positions, valid)
    return np.asarray(logits)
