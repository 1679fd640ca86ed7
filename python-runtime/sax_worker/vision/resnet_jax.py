"""The ResNet image classifier (``ImageNetResNet50``, spec data-plane §2.7) in plain JAX.

``jax_params`` folds each inference-mode BatchNorm into the convolution before it and lays kernels out
HWIO, and ``forward`` runs the NHWC network (torchvision v1.5: the stride sits on the 3x3). Weights,
checks and the servable shell come from ``resnet_common``, shared with the PyTorch backend.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from sax_worker.vision.config import VisionConfig
from sax_worker.vision.resnet_common import (
    BN_EPS,
    ResNetConfig,
    classifier_servable,
    load_state,
    num_parameters,
)
from sax_worker.vision.servable import VisionServable


def jax_params(cfg: ResNetConfig, state: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """A checked state dict as the host tree ``forward`` takes: each conv with its BatchNorm folded in
    (``{"w": HWIO, "b": [O]}``), blocks grouped by stage, ``fc`` as ``{"w": [E, C], "b": [C]}``."""

    def conv_bn(conv: str, bn: str) -> dict[str, np.ndarray]:
        scale = state[f"{bn}.weight"].astype(np.float64) / np.sqrt(state[f"{bn}.running_var"] + BN_EPS)
        kernel = state[f"{conv}.weight"] * scale[:, None, None, None]  # [O, I, kh, kw]
        shift = state[f"{bn}.bias"] - state[f"{bn}.running_mean"] * scale
        return {"w": kernel.transpose(2, 3, 1, 0).astype(np.float32), "b": shift.astype(np.float32)}

    stages = []
    for stage, count in enumerate(cfg.block_counts):
        blocks = []
        for index in range(count):
            p = f"layer{stage + 1}.{index}"
            block = {f"conv{i}": conv_bn(f"{p}.conv{i}", f"{p}.bn{i}") for i in (1, 2, 3)}
            if index == 0:
                block["downsample"] = conv_bn(f"{p}.downsample.0", f"{p}.downsample.1")
            blocks.append(block)
        stages.append(blocks)
    fc = {"w": np.ascontiguousarray(state["fc.weight"].T), "b": state["fc.bias"]}
    return {"stem": conv_bn("conv1", "bn1"), "stages": stages, "fc": fc}


def _conv(x: jax.Array, p: Mapping[str, jax.Array], stride: int, pad: int) -> jax.Array:
    y = lax.conv_general_dilated(
        x, p["w"], (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    return y + p["b"]


def _bottleneck(x: jax.Array, block: Mapping[str, Any], stride: int) -> jax.Array:
    y = jax.nn.relu(_conv(x, block["conv1"], 1, 0))
    y = jax.nn.relu(_conv(y, block["conv2"], stride, 1))
    y = _conv(y, block["conv3"], 1, 0)
    shortcut = _conv(x, block["downsample"], stride, 0) if "downsample" in block else x
    return jax.nn.relu(y + shortcut)


@jax.jit
def forward(params: Mapping[str, Any], images: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``images`` [B, S, S, 3] -> (logits [B, C], embedding [B, E]); compiled once per batch shape."""
    x = jax.nn.relu(_conv(images, params["stem"], 2, 3))  # [B, S/2, S/2, W0]
    window, strides, pads = (1, 3, 3, 1), (1, 2, 2, 1), ((0, 0), (1, 1), (1, 1), (0, 0))
    x = lax.reduce_window(x, -jnp.inf, lax.max, window, strides, pads)  # [B, S/4, S/4, W0]
    for stage, blocks in enumerate(params["stages"]):
        for index, block in enumerate(blocks):
            x = _bottleneck(x, block, 2 if stage > 0 and index == 0 else 1)
    embedding = jnp.mean(x, axis=(1, 2))  # [B, E]
    return embedding @ params["fc"]["w"] + params["fc"]["b"], embedding


class _JaxResNet:
    """The device copy of the weights, and batches run on it padded to the serving batch size, so one
    compiled program (built at load) serves every batch the batcher forms."""

    def __init__(self, params: dict[str, Any], batch_size: int) -> None:
        self._params: dict[str, Any] | None = jax.device_put(params)
        self._batch_size = batch_size

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self._params is not None, "the model was released"
        count = images.shape[0]
        padded = np.zeros((max(count, self._batch_size), *images.shape[1:]), np.float32)
        padded[:count] = images
        logits, embedding = forward(self._params, padded)
        return np.asarray(logits)[:count], np.asarray(embedding)[:count]

    def release(self) -> None:
        for leaf in jax.tree_util.tree_leaves(self._params):
            leaf.delete()
        self._params = None


def build_resnet_jax(vc: VisionConfig, checkpoint: str, seed: int) -> VisionServable:
    """Builds the JAX ResNet servable on JAX's default device, compiled for the serving batch size.

    ``checkpoint``: a torchvision-named state dict (``.safetensors`` / ``.pt`` / ``.pth``, local or
    ``gs://``), or "None" for ``random_state(seed)``. Bad configs and checkpoints raise ``ValueError``.
    ``load_info``: parameters, weights_seconds, checkpoint_bytes and compile_seconds.
    """
    cfg = ResNetConfig.of(vc)
    start = time.monotonic()
    state, read_bytes = load_state(vc, cfg, checkpoint, seed)
    model = _JaxResNet(jax_params(cfg, state), vc.serving.batch_size)
    del state
    weights_seconds = time.monotonic() - start
    start = time.monotonic()
    size = cfg.preprocessing.image_size
    model(np.zeros((vc.serving.batch_size, size, size, 3), np.float32))
    load_info = {
        "parameters": float(num_parameters(cfg)),
        "weights_seconds": weights_seconds,
        "checkpoint_bytes": float(read_bytes),
        "compile_seconds": time.monotonic() - start,
    }
    return classifier_servable(vc, cfg, model, load_info=load_info, release=model.release)
