"""``vm.detect`` with a detectron2 model (Saxml's torch ``Detectron2Model``, spec §6).

The Load request's checkpoint is a detectron2 config file; the weights are the file's
``MODEL.WEIGHTS``. Nothing a publisher points at may run code in the model server (spec §1.7), so:
only ``.yaml`` configs are read (a ``.py`` LazyConfig would execute the file); they are parsed with
safe YAML (detectron2's ``merge_from_file`` allows unsafe YAML tags unless told otherwise); and
pickled ``.pkl`` weights are refused (a ``.pth`` state dict is read by ``torch.load``, which refuses
code by default).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import torch

from sax_worker.errors import WorkerError
from sax_worker.servables.base import Payload
from sax_worker.vision.coco import COCO_THINGS_80, box_payload
from sax_worker.vision.config import VisionConfig
from sax_worker.vision.images import decode_rgb
from sax_worker.vision.servable import VisionServable, bytes_field, per_request

#: The refusal of a Python config file (Saxml's message, word for word).
PY_CONFIG_REFUSED: Final = "Loading Python (.py) configuration files is disabled for security reasons."


def check_config_path(path: str) -> None:
    """``ValueError`` unless ``path`` names a ``.yaml`` config (Saxml's messages, word for word)."""
    if path.endswith(".py"):
        raise ValueError(PY_CONFIG_REFUSED)
    if not path.endswith(".yaml"):
        raise ValueError(f"Unsupported config_path format: '{path}'. Only .yaml config files are allowed.")


def build_detectron2(vc: VisionConfig, checkpoint: str, seed: int) -> VisionServable:
    """The ``detectron2`` servable for the config file at ``checkpoint``, on the first CUDA device.

    ``vm.detect`` takes ``{"image_bytes"}``; ``text`` and ``boxes`` are ignored (the model is neither
    open-set nor box-prompted) and masks are not returned. Labels are the 80 COCO thing classes.
    """
    del seed  # detectron2 inference draws no random numbers
    check_config_path(checkpoint)
    unsupported = sorted(vc.methods - {"vm.detect"})
    if unsupported:
        raise ValueError(f"detectron2 answers only vm.detect, not {unsupported}")
    if not torch.cuda.is_available():
        raise WorkerError(
            "FAILED_PRECONDITION",
            "detectron2 models need a CUDA device and torch sees none on this host; serve this class "
            "from a model server with a GPU (--jax_platforms cuda)",
        )
    try:
        from detectron2.config import get_cfg
        from detectron2.engine import DefaultPredictor
    except ModuleNotFoundError as err:
        if err.name != "detectron2":
            raise
        raise WorkerError(
            "FAILED_PRECONDITION",
            "this class needs the detectron2 package, which this worker's venv does not have; install it "
            "into python-runtime/.venv (it is not on PyPI: build it from its source, "
            "github.com/facebookresearch/detectron2)",
        ) from err
    start = time.monotonic()
    cfg = get_cfg()
    cfg.merge_from_file(checkpoint, allow_unsafe=False)
    if str(cfg.MODEL.WEIGHTS).endswith(".pkl"):
        raise ValueError(
            f"{checkpoint}: MODEL.WEIGHTS {cfg.MODEL.WEIGHTS!r} is a pickle, which could run code when "
            "loaded; convert it to a .pth state dict"
        )
    cfg.MODEL.DEVICE = "cuda"
    model = _Detectron2(DefaultPredictor(cfg))
    load_info = {"weights_seconds": time.monotonic() - start}
    return VisionServable(
        {"vm.detect": per_request(model.prepare, model.run)},
        vc.serving,
        load_info=load_info,
        release=model.release,
    )


class _Detectron2:
    """The predictor behind ``vm.detect``; ``release`` drops it so a closed servable frees its memory."""

    def __init__(self, predictor: Any) -> None:
        self._predictor: Any = predictor

    def prepare(self, request: Payload) -> np.ndarray:
        # DefaultPredictor takes BGR whatever cfg.INPUT.FORMAT says, and converts for RGB models itself.
        rgb = decode_rgb(bytes_field(request, "image_bytes"))  # [H, W, 3]
        return np.ascontiguousarray(rgb[:, :, ::-1])  # [H, W, 3] BGR

    def run(self, images: list[np.ndarray]) -> Sequence[Payload]:
        assert self._predictor is not None, "vm.detect after close"
        replies = []
        for image in images:  # DefaultPredictor runs one image at a time
            instances = self._predictor(image)["instances"].to("cpu")
            boxes = box_payload(
                instances.pred_boxes.tensor.numpy(),
                instances.scores.numpy(),
                instances.pred_classes.numpy(),
                COCO_THINGS_80,
            )
            replies.append({"bounding_boxes": boxes})
        return replies

    def release(self) -> None:
        self._predictor = None
        torch.cuda.empty_cache()
