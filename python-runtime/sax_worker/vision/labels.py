"""Class labels of image classifiers, and the top-k answer ``vm.classify`` returns (spec data-plane §7).

A 1000-way classifier is an ImageNet one: its labels are ``sax_worker/assets/imagenet_classes.txt``, one
class name a line in index order (taken from timm's ImageNet synset and lemma files, Apache-2.0). Any
other class count gets placeholder names, ``class_<i>``, so small test models still answer with text.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Sequence
from typing import Final

import numpy as np

#: Classes in ImageNet-1k, the count that selects the ImageNet names.
IMAGENET_CLASSES: Final = 1000


@functools.cache
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet class names in index order (index 0 "tench, Tinca tinca")."""
    text = importlib.resources.files("sax_worker").joinpath("assets", "imagenet_classes.txt").read_text()
    labels = tuple(line.strip() for line in text.splitlines() if line.strip())
    assert len(labels) == IMAGENET_CLASSES, f"imagenet_classes.txt holds {len(labels)} names"
    return labels


def class_labels(num_classes: int) -> tuple[str, ...]:
    """Labels of a ``num_classes``-way classifier: ImageNet's for 1000, ``class_<i>`` otherwise."""
    if num_classes == IMAGENET_CLASSES:
        return imagenet_labels()
    return tuple(f"class_{i}" for i in range(num_classes))


def top_k(scores: np.ndarray, k: int, labels: Sequence[str]) -> list[list[dict[str, object]]]:
    """Per row of ``scores`` [B, C], the ``k`` best classes as ``{"text": label, "score": float}``.

    Best first; equal scores keep index order (a stable sort), so answers do not depend on how the
    sort breaks ties. ``k`` above C returns all C.
    """
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # [B, k]
    return [
        [{"text": labels[int(i)], "score": float(row[int(i)])} for i in indices]
        for row, indices in zip(scores, order, strict=True)
    ]
