"""The ResNet image classifier in PyTorch (``saxml.server.torch.classify.ResNetModel``, spec §6).

One module for every ``blockCounts`` / ``widths``: torchvision's ``Bottleneck`` blocks behind a stem as
wide as the first stage, under torchvision's attribute names, so for ResNet-50's widths it is
torchvision's ``resnet50`` tensor for tensor, and for any widths it reads the state dicts the JAX
ResNet reads. Weights, config checks and the classify/embed methods come from ``resnet_common``, so a
checkpoint or a seed gives the same model here as there. The module is built on the meta device and
takes the loaded tensors as they are, then moves once to the device ``JAX_PLATFORMS`` names.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
from torch import nn
from torchvision.models.resnet import Bottleneck

from sax_worker.torch_models.weights import torch_device
from sax_worker.vision.config import VisionConfig
from sax_worker.vision.resnet_common import (
    EXPANSION,
    ResNetConfig,
    classifier_servable,
    load_state,
    num_parameters,
)
from sax_worker.vision.servable import VisionServable


class TorchResNet(nn.Module):
    """A bottleneck ResNet returning logits and the pooled embedding."""

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        in_ch = cfg.widths[0]
        self.conv1 = nn.Conv2d(3, in_ch, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.stage_names = [f"layer{i + 1}" for i in range(len(cfg.widths))]
        for stage, (count, width) in enumerate(zip(cfg.block_counts, cfg.widths, strict=True)):
            stride = 1 if stage == 0 else 2
            out_ch = EXPANSION * width
            downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )
            blocks = [Bottleneck(in_ch, width, stride, downsample)]
            blocks += [Bottleneck(out_ch, width) for _ in range(count - 1)]
            self.add_module(self.stage_names[stage], nn.Sequential(*blocks))
            in_ch = out_ch
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, cfg.num_classes)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``images`` [B, 3, S, S] -> (logits [B, C], embedding [B, E])."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        embedding = torch.flatten(self.avgpool(x), 1)
        return self.fc(embedding), embedding


class _TorchClassifier:
    """The model on its device, answering batches of NHWC NumPy images."""

    def __init__(self, model: TorchResNet, device: torch.device) -> None:
        self._model: TorchResNet | None = model
        self._device = device

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self._model is not None, "the model was released"
        batch = torch.from_numpy(images).permute(0, 3, 1, 2).to(self._device)  # [B, 3, S, S]
        with torch.inference_mode():
            logits, embedding = self._model(batch)
        return logits.float().cpu().numpy(), embedding.float().cpu().numpy()

    def release(self) -> None:
        self._model = None
        if self._device.type == "cuda":
            torch.cuda.empty_cache()


def build_resnet_torch(vc: VisionConfig, checkpoint: str, seed: int) -> VisionServable:
    """Builds the PyTorch ResNet servable, in eval mode on the ``JAX_PLATFORMS`` device (cpu or cuda).

    ``checkpoint`` and ``seed`` mean what they mean to ``resnet_jax.build_resnet_jax``; bad configs and
    checkpoints raise ``ValueError``. ``load_info``: parameters, weights_seconds and checkpoint_bytes
    (eager, so there is nothing to compile).
    """
    cfg = ResNetConfig.of(vc)
    device = torch_device(os.environ.get("JAX_PLATFORMS"))
    start = time.monotonic()
    state, read_bytes = load_state(vc, cfg, checkpoint, seed)
    with torch.device("meta"):
        model = TorchResNet(cfg)
    tensors = {name: torch.from_numpy(value) for name, value in state.items()}
    # Unused in eval mode and absent from the checked state dict; counted from zero as a fresh module.
    for name, _ in model.named_buffers():
        if name.endswith(".num_batches_tracked"):
            tensors[name] = torch.zeros((), dtype=torch.long)
    model.load_state_dict(tensors, strict=True, assign=True)
    classifier = _TorchClassifier(model.to(device).eval(), device)
    load_info = {
        "parameters": float(num_parameters(cfg)),
        "weights_seconds": time.monotonic() - start,
        "checkpoint_bytes": float(read_bytes),
    }
    return classifier_servable(vc, cfg, classifier, load_info=load_info, release=classifier.release)
