"""``vm.detect`` with torchvision's Faster R-CNN over a MobileNetV3-Large FPN backbone.

The model is torchvision's own builder (``fasterrcnn_mobilenet_v3_large_320_fpn`` or
``fasterrcnn_mobilenet_v3_large_fpn``) with no downloaded weights: seeded random ones for checkpoint
"None", else a state-dict file (``state_dict.load_module_state``) loaded strictly. Its batch norms are
frozen after building, as torchvision does for its published COCO weights, so a torchvision checkpoint
loads with the same names and the same arithmetic. The model resizes and normalises images itself, so a
request's image goes in as decoded: RGB floats in [0, 1] at its own size, and boxes come back in its
pixels.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

import torch
from torch import nn
from torchvision.models import detection
from torchvision.ops.misc import FrozenBatchNorm2d

from sax_worker.servables.base import Payload
from sax_worker.torch_models.weights import torch_device
from sax_worker.vision.coco import COCO_91, box_payload
from sax_worker.vision.config import NO_CHECKPOINT, VisionConfig, camel_fields
from sax_worker.vision.images import decode_rgb
from sax_worker.vision.servable import VisionServable, bytes_field, per_request
from sax_worker.vision.state_dict import load_module_state

#: ``architecture.backbone`` -> torchvision builder.
_BUILDERS: Final = {
    "mobilenet_v3_large_320": detection.fasterrcnn_mobilenet_v3_large_320_fpn,
    "mobilenet_v3_large": detection.fasterrcnn_mobilenet_v3_large_fpn,
}

_METHODS: Final = frozenset({"vm.detect"})


@dataclasses.dataclass(frozen=True)
class DetectorArchitecture:
    """The ``architecture`` of a ``faster_rcnn`` config (torchvision's builder arguments)."""

    backbone: str = "mobilenet_v3_large_320"
    num_classes: int = len(COCO_91)
    min_size: int = 320  # the shorter image side is resized to this ...
    max_size: int = 640  # ... unless the longer side would then exceed this
    score_threshold: float = 0.05  # detections scoring at most this are dropped
    detections_per_image: int = 100

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DetectorArchitecture:
        arch = camel_fields(cls, raw, "faster_rcnn architecture", also=frozenset({"family"}))
        if arch.backbone not in _BUILDERS:
            raise ValueError(f"faster_rcnn backbone must be one of {sorted(_BUILDERS)}: {arch.backbone!r}")
        if arch.num_classes != len(COCO_91):
            # Labels are named from COCO's 91 ids; another head size would need another label list.
            raise ValueError(f"faster_rcnn numClasses must be {len(COCO_91)} (COCO), got {arch.num_classes}")
        if not 1 <= arch.min_size <= arch.max_size or arch.detections_per_image < 1:
            raise ValueError(f"faster_rcnn sizes out of range: {dict(raw)}")
        if not 0.0 <= arch.score_threshold < 1.0:
            raise ValueError(f"faster_rcnn scoreThreshold must be in [0, 1), got {arch.score_threshold}")
        return arch


def build_detector(arch: DetectorArchitecture, seed: int) -> nn.Module:
    """The detector with seeded random weights, batch norms frozen, on the CPU, in eval mode.

    The seed is applied inside ``fork_rng`` so that building a model leaves the process's global
    generator (which other code may draw from) as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _BUILDERS[arch.backbone](
            weights=None,
            weights_backbone=None,
            num_classes=arch.num_classes,
            min_size=arch.min_size,
            max_size=arch.max_size,
            box_score_thresh=arch.score_threshold,
            box_detections_per_img=arch.detections_per_image,
        )
    _freeze_batch_norms(model)
    return model.eval()


def _freeze_batch_norms(module: nn.Module) -> None:
    """Swaps every ``BatchNorm2d`` for a ``FrozenBatchNorm2d`` holding the same statistics.

    torchvision builds untrained detectors with trainable batch norms (which carry a
    ``num_batches_tracked`` counter) but its COCO weights with frozen ones; in eval mode both compute
    ``(x - mean) / sqrt(var + eps) * weight + bias``.
    """
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(frozen, key).copy_(getattr(child, key).detach())
            setattr(module, name, frozen)
        else:
            _freeze_batch_norms(child)


def build_detector_torch(vc: VisionConfig, checkpoint: str, seed: int) -> VisionServable:
    """The ``faster_rcnn`` servable: ``vm.detect`` on the device ``JAX_PLATFORMS`` names.

    ``vm.detect`` takes ``{"image_bytes"}`` (JPEG, PNG or WebP); ``text`` and ``boxes`` are ignored, as
    the model is neither open-set nor box-prompted. ``load_info`` has the parameter count, the seconds
    spent building and loading weights, and the checkpoint bytes read.
    """
    unsupported = sorted(vc.methods - _METHODS)
    if unsupported:
        raise ValueError(f"faster_rcnn answers only vm.detect, not {unsupported}")
    if vc.preprocessing is not None:
        raise ValueError("faster_rcnn resizes and normalises images itself: 'preprocessing' must be null")
    arch = DetectorArchitecture.from_dict(vc.architecture)
    if checkpoint == NO_CHECKPOINT and not vc.random_weights:
        raise ValueError("this faster_rcnn config needs a checkpoint: randomWeightsWhenNoCheckpoint is false")
    device = torch_device(os.environ.get("JAX_PLATFORMS"))
    start = time.monotonic()
    model = build_detector(arch, seed)
    read_bytes = 0 if vc.random_weights else load_module_state(model, checkpoint, "faster_rcnn")
    detector = _Detector(model.to(device), device)
    load_info = {
        "parameters": float(sum(p.numel() for p in model.parameters())),
        "weights_seconds": time.monotonic() - start,
        "checkpoint_bytes": float(read_bytes),
    }
    handler = per_request(detector.prepare, detector.run)
    return VisionServable({"vm.detect": handler}, vc.serving, load_info=load_info, release=detector.release)


class _Detector:
    """The model behind ``vm.detect``; ``release`` drops it, so a closed servable frees its memory even
    while something still holds the servable."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self._model: nn.Module | None = model
        self._device = device

    def prepare(self, request: Payload) -> torch.Tensor:
        pixels = decode_rgb(bytes_field(request, "image_bytes"))  # [H, W, 3] uint8, read-only
        return torch.tensor(pixels).permute(2, 0, 1)  # [3, H, W] uint8, a copy torch may write

    def run(self, images: list[torch.Tensor]) -> Sequence[Payload]:
        assert self._model is not None, "vm.detect after close"
        with torch.inference_mode():
            # Bytes travel to the device, then become floats in [0, 1] there: a quarter of the transfer.
            floats = [image.to(self._device).float().div_(255.0) for image in images]  # [3, H, W] each
            detections = self._model(floats)
        return [
            {
                "bounding_boxes": box_payload(
                    d["boxes"].cpu().numpy(), d["scores"].cpu().numpy(), d["labels"].cpu().numpy(), COCO_91
                )
            }
            for d in detections
        ]

    def release(self) -> None:
        self._model = None
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
