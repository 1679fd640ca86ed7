"""``TorchLmServable``: the LM methods over the PyTorch LLaMA decoder, for configs with framework "torch".

``build_torch_lm_servable`` reads the same config and checkpoints as the JAX builder (``lm_load``): the
same architecture, tokenizer and serving knobs, and for checkpoint "None" the same seeded random weights
(drawn by ``decoder_params.init_params`` from the same key), converted once to ``TorchWeights`` on the
device the model server's ``--jax_platforms`` names. Request semantics come from ``LmMethods``, so only
the device programs differ from the JAX servable.

Differences from the JAX servable: generate requests decode one at a time (no continuous batching, so
``numCacheSlots`` must be 0); sampled (non-greedy) tokens come from torch's generator, so they differ
from the JAX servable's draws for the same seed, while greedy answers are the same. lm.score and
lm.embed are batched dynamically, as there, when the batch size is above 1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.lm_backend import DecodeSettings
from sax_worker.models.lm_load import host_params, method_keys, parse_lm_config, seed_keys
from sax_worker.models.lm_methods import LmMethods
from sax_worker.models.lm_serving_config import LmServingConfig
from sax_worker.models.tokenizers import Tokenizer
from sax_worker.torch_models.programs import TorchPrograms
from sax_worker.torch_models.weights import TorchWeights, torch_device, torch_weights


class TorchLmServable(LmMethods):
    """A loaded PyTorch LLaMA answering the LM methods its serving config enables."""

    def __init__(
        self,
        cfg: DecoderConfig,
        weights: TorchWeights,
        tokenizer: Tokenizer,
        serving: LmServingConfig,
        keys: Sequence[Sequence[int]],
    ) -> None:
        """``keys``: one per method of ``serving.methods`` in sorted name order (``torch_method_keys``)."""
        if serving.num_cache_slots > 0:
            raise ValueError(
                f"the torch backend decodes one request at a time: numCacheSlots must be 0, got "
                f"{serving.num_cache_slots} (publish with NUM_CACHE_SLOTS=0, or use the JAX class)"
            )
        programs = TorchPrograms(cfg, DecodeSettings.of(serving, tokenizer), weights.device)
        super().__init__(cfg, weights, tokenizer, serving, programs, keys)


def torch_method_keys(methods_key: jax.Array, serving: LmServingConfig) -> list[tuple[int, ...]]:
    """The JAX servable's per-method keys (``lm_load.method_keys``) as plain words, for torch seeds."""
    data = np.asarray(jax.random.key_data(method_keys(methods_key, serving)))  # [methods, words]
    return [tuple(int(word) for word in row) for row in data]


def build_torch_lm_servable(config: Mapping[str, Any], checkpoint: str, seed: int) -> TorchLmServable:
    """Builds a PyTorch LM servable from an LM servable config with framework "torch".

    The config is read as ``lm_load.parse_lm_config`` says (only the llama family, one device); the
    device follows ``JAX_PLATFORMS`` (``weights.torch_device``). Invalid configs and checkpoints raise
    ``ValueError``. ``load_info`` gets the parameter count, the seconds spent reading or initialising
    weights and the bytes read.
    """
    lm = parse_lm_config(config, checkpoint, "torch")
    device = torch_device(os.environ.get("JAX_PLATFORMS"))
    if not any(int(np.prod(shape)) == 1 for shape in lm.mesh_shapes):
        raise ValueError(
            f"the torch backend serves on one device: meshShapes must hold [1, 1, 1], got {lm.mesh_shapes}"
        )
    # JAX only derives keys and reads checkpoints here: keep it off the accelerator torch is using.
    jax.config.update("jax_platforms", "cpu")
    init_key, methods_key = seed_keys(seed)
    start = time.monotonic()
    host, read_bytes = host_params(lm, checkpoint, init_key)
    weights = torch_weights(lm.cfg, host, device)
    del host
    servable = TorchLmServable(
        lm.cfg, weights, lm.tokenizer, lm.serving, torch_method_keys(methods_key, lm.serving)
    )
    servable.load_info.update(
        {"weights_seconds": time.monotonic() - start, "checkpoint_bytes": float(read_bytes)}
    )
    return servable
