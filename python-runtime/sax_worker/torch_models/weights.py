"""LLaMA weights for the PyTorch decoder, converted once from the serving tree of ``decoder_params``.

Checkpoints and seeded random weights come as the JAX backend's host tree (stacked per-layer arrays:
``q`` [L, D, N, H], ``post`` [L, D, N, H], ``up`` [L, D, F], …). Here each layer's matrices are laid out
for ``F.linear`` (``[out, in]``), q/k/v fused into one matrix and gate/up into another, so a layer runs
four matrix products; each array is moved and cast to the device once, layer by layer, so host memory
never holds a second copy of the model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from sax_worker.models.decoder import rope_frequencies
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params

#: torch dtypes of ``DecoderConfig.dtype``.
TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}

#: ``JAX_PLATFORMS`` values (the model server's ``--jax_platforms``) -> torch device type.
_DEVICE_BY_PLATFORM = {"": "cpu", "cpu": "cpu", "cuda": "cuda"}


def torch_device(jax_platforms: str | None) -> torch.device:
    """The torch device of a worker whose model server passed ``JAX_PLATFORMS=jax_platforms``.

    ``cpu`` (or unset) is the CPU, ``cuda`` the first CUDA device; ``ValueError`` for platforms torch has
    no backend for here (``tpu``) or CUDA asked for on a host without it.
    """
    platform = (jax_platforms or "").split(",")[0].strip()
    kind = _DEVICE_BY_PLATFORM.get(platform)
    if kind is None:
        raise ValueError(
            f"the torch backend runs on --jax_platforms cpu or cuda, not {platform!r}; "
            "publish a JAX class for this platform"
        )
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("--jax_platforms cuda, but torch sees no CUDA device (torch.cuda.is_available())")
    return torch.device(kind)


@dataclasses.dataclass(frozen=True)
class LayerWeights:
    """One decoder layer, ``F.linear`` layout."""

    attn_norm: torch.Tensor  # [D]
    qkv: torch.Tensor  # [(N + 2K)·H, D]: query rows, then key rows, then value rows
    post: torch.Tensor  # [D, N·H]
    ffn_norm: torch.Tensor  # [D]
    gate_up: torch.Tensor  # [2F, D]: gate rows, then up rows
    down: torch.Tensor  # [D, F]


@dataclasses.dataclass(frozen=True)
class TorchWeights:
    """A LLaMA decoder's weights on one device."""

    embedding: torch.Tensor  # [V, D]
    final_norm: torch.Tensor  # [D]
    softmax: torch.Tensor  # [V, D]
    layers: tuple[LayerWeights, ...]
    rope_freqs: torch.Tensor  # [H/2] float32, ``decoder.rope_frequencies``

    @property
    def device(self) -> torch.device:
        return self.embedding.device


def torch_weights(cfg: DecoderConfig, params: Params, device: torch.device) -> TorchWeights:
    """The host serving tree ``params`` of a LLaMA-family ``cfg`` as ``TorchWeights`` on ``device``."""
    if cfg.family != "llama":
        raise ValueError(
            f"the torch backend builds the llama family only, not {cfg.family!r}; publish the JAX class"
        )
    dtype = TORCH_DTYPES[cfg.dtype]

    def put(array: np.ndarray) -> torch.Tensor:
        # Copied as float32 (NumPy's bfloat16 is foreign to torch, and checkpoint arrays may be read-only),
        # then cast once on the device.
        host = torch.tensor(np.asarray(array, np.float32))
        return host.to(device=device, dtype=dtype).contiguous()

    d, nh, kh = cfg.model_dims, cfg.num_heads * cfg.dims_per_head, cfg.num_kv_heads * cfg.dims_per_head
    lp = params["layers"]
    layers = []
    for i in range(cfg.num_layers):
        if cfg.combined_qkv:
            q, k, v = (lp["qkv"][i, j].reshape(d, -1) for j in range(3))  # each [D, N·H]
        else:
            q, k, v = lp["q"][i].reshape(d, nh), lp["k"][i].reshape(d, kh), lp["v"][i].reshape(d, kh)
        layers.append(
            LayerWeights(
                attn_norm=put(lp["attn_norm"]["scale"][i]),
                qkv=put(np.concatenate([q, k, v], axis=1).T),
                post=put(lp["post"][i].reshape(d, nh)),
                ffn_norm=put(lp["ffn_norm"]["scale"][i]),
                gate_up=put(np.concatenate([lp["gate"][i], lp["up"][i]], axis=1).T),
                down=put(lp["down"][i].T),
            )
        )
    freqs = rope_frequencies(cfg.dims_per_head, cfg.rope_theta, cfg.rope_scaling)
    return TorchWeights(
        embedding=put(params["embedding"]),
        final_norm=put(params["final_norm"]["scale"]),
        softmax=put(np.asarray(params["softmax"]).T),
        layers=tuple(layers),
        rope_freqs=torch.from_numpy(freqs).to(device),
    )
