"""From a parsed vision config to the module that builds its model.

One entry per (family, framework); each module is imported only when a config selects it, so a worker
serving a JAX ResNet never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Final

from sax_worker.vision.config import parse_vision_config
from sax_worker.vision.servable import VisionServable

#: (family, framework) -> (module, function); the function takes (VisionConfig, checkpoint, seed).
_BUILDERS: Final[Mapping[tuple[str, str], tuple[str, str]]] = {
    ("resnet", "jax"): ("sax_worker.vision.resnet_jax", "build_resnet_jax"),
    ("resnet", "torch"): ("sax_worker.vision.resnet_torch", "build_resnet_torch"),
    ("faster_rcnn", "torch"): ("sax_worker.vision.detector_torch", "build_detector_torch"),
    ("tiny_diffusion", "torch"): ("sax_worker.vision.diffusion_torch", "build_diffusion_torch"),
    ("detectron2", "torch"): ("sax_worker.external.detectron2_servable", "build_detectron2"),
}


def build_vision_servable(config: Mapping[str, Any], checkpoint: str, seed: int) -> VisionServable:
    """Builds the vision servable a config selects; an unknown family is a ``ValueError``."""
    parsed = parse_vision_config(config, checkpoint)
    target = _BUILDERS.get((parsed.family, parsed.framework))
    if target is None:
        known = ", ".join(f"{f}@{fw}" for f, fw in _BUILDERS)
        raise ValueError(f"no vision model {parsed.family}@{parsed.framework}; this worker builds {known}")
    module, function = target
    build = getattr(importlib.import_module(module), function)
    return build(parsed, checkpoint, seed)
