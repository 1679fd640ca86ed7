"""COCO-2017 category names as detection models number them, and detections in the ``vm.detect`` reply.

torchvision's COCO detectors predict 91 ids: 0 is the background and the 11 ids COCO left unused are
"N/A" placeholders. Detectron2's COCO models predict the 80 real ("thing") classes numbered 0..79 in
the same order. The names come from torchvision's published weights metadata (reading it downloads
nothing), so the two numberings cannot drift from the models they label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from torchvision.models.detection import FasterRCNN_MobileNet_V3_Large_FPN_Weights

#: The name of id 0 in ``COCO_91``.
BACKGROUND: Final = "__background__"

#: The name of the ids COCO-2017 does not use.
PLACEHOLDER: Final = "N/A"

#: torchvision's detection labels, by id (91 entries).
COCO_91: Final[tuple[str, ...]] = tuple(FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1.meta["categories"])

#: Detectron2's contiguous COCO thing classes, by id (80 entries).
COCO_THINGS_80: Final[tuple[str, ...]] = tuple(n for n in COCO_91 if n not in (BACKGROUND, PLACEHOLDER))


def box_payload(
    xyxy: np.ndarray, scores: np.ndarray, label_ids: np.ndarray, names: Sequence[str]
) -> list[dict[str, float | str]]:
    """Detections as ``vm.detect`` reply boxes ``{"cx", "cy", "w", "h", "text", "score"}``, best first.

    ``xyxy`` [N, 4] holds corner pixels (x0, y0, x1, y1); the reply has the centre and size in pixels
    (spec §7). A label that names no object (the background, an unused id) is dropped rather than sent
    as a box a client would have to filter.
    """
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)  # [N, 4]
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)  # [N]
    label_ids = np.asarray(label_ids).reshape(-1)  # [N]
    out: list[dict[str, float | str]] = []
    for i in np.argsort(-scores, kind="stable"):
        label = int(label_ids[i])
        name = names[label] if 0 <= label < len(names) else PLACEHOLDER
        if name in (BACKGROUND, PLACEHOLDER):
            continue
        x0, y0, x1, y1 = boxes[i]
        out.append(
            {
                "cx": float((x0 + x1) / 2),
                "cy": float((y0 + y1) / 2),
                "w": float(x1 - x0),
                "h": float(y1 - y0),
                "text": name,
                "score": float(scores[i]),
            }
        )
    return out
