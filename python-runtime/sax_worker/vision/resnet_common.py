"""The parts of a ResNet servable (``ImageNetResNet50``, spec data-plane §2.7; torch ``ResNetModel``, §6)
that the JAX and PyTorch backends share.

``ResNetConfig`` is read from the config's ``architecture``; the weights are a torchvision-named state
dict (``state_dict_shapes``), from a checkpoint (``load_state``, checked name by name) or seeded random
(``random_state``), so one file and one seed give the same model in JAX and in PyTorch; and
``classifier_servable`` turns a backend's forward function into ``vm.classify`` (top-k labels) and
``vm.embed`` (pooled features) over pre-processed images.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

from sax_worker.vision.config import NO_CHECKPOINT, Preprocessing, VisionConfig
from sax_worker.vision.labels import class_labels, top_k
from sax_worker.vision.preprocess import preprocess
from sax_worker.vision.servable import VisionServable, bytes_field, per_request
from sax_worker.vision.state_dict import read_state_dict

#: Output channels of a bottleneck block per inner channel (1x1 expand).
EXPANSION: Final = 4

#: BatchNorm's epsilon (torchvision's and Paxml's default).
BN_EPS: Final = 1e-5

#: Methods a ResNet answers.
RESNET_METHODS: Final = frozenset({"vm.classify", "vm.embed"})

#: A batch of pre-processed images [B, S, S, 3] -> (logits [B, C], embedding [B, E]), float32 NumPy.
Forward = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class ResNetConfig:
    """A bottleneck ResNet and how its images are pre-processed. Stage i has ``widths[i]`` inner and
    ``EXPANSION * widths[i]`` output channels; the stem is as wide as the first stage (64 for ResNet-50,
    as in torchvision)."""

    block_counts: tuple[int, ...]
    widths: tuple[int, ...]
    num_classes: int
    preprocessing: Preprocessing

    @classmethod
    def of(cls, vc: VisionConfig) -> ResNetConfig:
        """Reads and checks ``vc``'s architecture, methods and pre-processing; ``ValueError`` if invalid."""
        arch = vc.architecture
        blocks, widths = arch.get("blockCounts"), arch.get("widths")
        if not (
            isinstance(blocks, list) and isinstance(widths, list) and blocks and len(blocks) == len(widths)
        ):
            raise ValueError(
                f"resnet architecture: blockCounts and widths must be lists of equal, non-zero length, got "
                f"{blocks!r} and {widths!r}"
            )
        if vc.preprocessing is None:
            raise ValueError("resnet config: 'preprocessing' is required (image size, crop, mean and std)")
        if not vc.methods <= RESNET_METHODS:
            raise ValueError(
                f"resnet answers {sorted(RESNET_METHODS)}; the config also asks for "
                f"{sorted(vc.methods - RESNET_METHODS)}"
            )
        block_counts, channels = tuple(int(n) for n in blocks), tuple(int(w) for w in widths)
        cfg = cls(block_counts, channels, int(arch.get("numClasses", 0)), vc.preprocessing)
        if min(cfg.block_counts) < 1 or min(cfg.widths) < 1 or cfg.num_classes < 1:
            raise ValueError(
                f"resnet architecture: blockCounts, widths and numClasses must be positive: {dict(arch)}"
            )
        return cfg


def state_dict_shapes(cfg: ResNetConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor of the model by torchvision name (``layer2.0.downsample.1.running_var``), in
    torchvision's order, with its shape (convolutions OIHW, ``fc.weight`` [C, E]).

    ``num_batches_tracked`` is left out: inference never reads it, and older torchvision files lack it.
    """
    shapes: dict[str, tuple[int, ...]] = {}

    def conv_bn(conv: str, bn: str, out_ch: int, in_ch: int, kernel: int) -> None:
        shapes[f"{conv}.weight"] = (out_ch, in_ch, kernel, kernel)
        for field in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{bn}.{field}"] = (out_ch,)

    in_ch = cfg.widths[0]
    conv_bn("conv1", "bn1", in_ch, 3, 7)
    for stage, (count, width) in enumerate(zip(cfg.block_counts, cfg.widths, strict=True)):
        for block in range(count):
            p = f"layer{stage + 1}.{block}"
            conv_bn(f"{p}.conv1", f"{p}.bn1", width, in_ch, 1)
            conv_bn(f"{p}.conv2", f"{p}.bn2", width, width, 3)
            conv_bn(f"{p}.conv3", f"{p}.bn3", EXPANSION * width, width, 1)
            if block == 0:  # the block that changes the channel count (and, past stage 1, the size)
                conv_bn(f"{p}.downsample.0", f"{p}.downsample.1", EXPANSION * width, in_ch, 1)
            in_ch = EXPANSION * width
    shapes["fc.weight"] = (cfg.num_classes, in_ch)
    shapes["fc.bias"] = (cfg.num_classes,)
    return shapes


def num_parameters(cfg: ResNetConfig) -> int:
    """Trainable parameters (BatchNorm running statistics are buffers): 25,557,032 for ResNet-50."""
    return sum(
        int(np.prod(shape)) for name, shape in state_dict_shapes(cfg).items() if ".running_" not in name
    )


def random_state(cfg: ResNetConfig, seed: int) -> dict[str, np.ndarray]:
    """Seeded random weights as torchvision initialises a ResNet: He-normal convolutions (fan-out), fresh
    BatchNorms (scale 1, shift 0, mean 0, variance 1) except the last of each residual branch, whose scale
    is 0 so every block starts as its shortcut (spec §2.7), and a small normal classifier."""
    rng = np.random.default_rng(seed)
    state: dict[str, np.ndarray] = {}
    for name, shape in state_dict_shapes(cfg).items():
        if len(shape) == 4:
            std = np.sqrt(2.0 / (shape[0] * shape[2] * shape[3]))
            state[name] = (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)
        elif name == "fc.weight":
            state[name] = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.01)
        elif name.endswith((".running_var", ".weight")) and not name.endswith(".bn3.weight"):
            state[name] = np.ones(shape, np.float32)
        else:
            state[name] = np.zeros(shape, np.float32)
    return state


def check_state(cfg: ResNetConfig, tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``tensors`` as float32, in ``state_dict_shapes`` order; ``ValueError`` naming every missing,
    unexpected and mis-shaped tensor when they do not match ``cfg``."""
    expected = state_dict_shapes(cfg)
    given = {
        name: value
        for name, value in tensors.items()
        if not (name.endswith(".num_batches_tracked") and f"{name.rsplit('.', 1)[0]}.running_var" in expected)
    }
    problems = []
    missing = [name for name in expected if name not in given]
    unexpected = sorted(set(given) - set(expected))
    misshaped = [
        f"{name} {tuple(given[name].shape)} (expected {expected[name]})"
        for name in expected
        if name in given and tuple(given[name].shape) != expected[name]
    ]
    for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshaped)):
        if names:
            more = f" and {len(names) - 10} more" if len(names) > 10 else ""
            problems.append(f"{label}: {', '.join(names[:10])}{more}")
    if problems:
        raise ValueError(
            f"checkpoint does not match the resnet config (blockCounts {list(cfg.block_counts)}, widths "
            f"{list(cfg.widths)}, numClasses {cfg.num_classes}): {'; '.join(problems)}"
        )
    return {name: np.asarray(given[name], dtype=np.float32) for name in expected}


def load_state(
    vc: VisionConfig, cfg: ResNetConfig, checkpoint: str, seed: int
) -> tuple[dict[str, np.ndarray], int]:
    """The model's state dict from ``checkpoint`` (checked), or seeded random for "None"; and bytes read."""
    if checkpoint == NO_CHECKPOINT:
        if not vc.random_weights:
            raise ValueError(
                "checkpoint 'None' but randomWeightsWhenNoCheckpoint is false: publish with a .safetensors, "
                ".pt or .pth state dict"
            )
        return random_state(cfg, seed), 0
    tensors, read_bytes = read_state_dict(checkpoint)
    return check_state(cfg, tensors), read_bytes


def classifier_servable(
    vc: VisionConfig,
    cfg: ResNetConfig,
    forward: Forward,
    *,
    load_info: Mapping[str, float],
    release: Callable[[], None],
) -> VisionServable:
    """The ``vm.classify`` / ``vm.embed`` servable over ``forward``.

    Each request's image is pre-processed on its own (a bad one fails alone); the batch runs once.
    Classify answers the ``top_k`` labels with log-softmax or raw-logit scores as ``vc.scores`` says.
    """
    labels = class_labels(cfg.num_classes)

    def prepare(request: Mapping[str, Any]) -> np.ndarray:
        return preprocess(bytes_field(request, "image_bytes"), cfg.preprocessing)

    def classify(images: list[np.ndarray]) -> list[dict[str, Any]]:
        logits, _ = forward(np.stack(images))  # [B, C]
        scores = log_softmax(logits) if vc.scores == "log_probs" else logits
        return [{"texts": row} for row in top_k(scores, vc.top_k, labels)]

    def embed(images: list[np.ndarray]) -> list[dict[str, Any]]:
        _, embedding = forward(np.stack(images))  # [B, E]
        return [{"embedding": row.tolist()} for row in embedding.astype(np.float32)]

    handlers = {"vm.classify": per_request(prepare, classify), "vm.embed": per_request(prepare, embed)}
    return VisionServable(
        {method: handlers[method] for method in vc.methods}, vc.serving, load_info=load_info, release=release
    )


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities of ``logits`` [B, C] along C (in float64, so the top scores keep their digits)."""
    x = logits.astype(np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
