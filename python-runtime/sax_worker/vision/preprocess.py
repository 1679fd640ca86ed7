"""ImageNet eval pre-processing of one image, as Paxml's classifier does it (spec data-plane §7).

From the header size (h, w) alone, take the centred square of side ``s = ⌊crop_fraction · min(h, w)⌋`` at
``((h - s + 1) // 2, (w - s + 1) // 2)``; decode only that window; resize it to ``image_size``² with
TensorFlow's bicubic (``tf.image.resize(method=BICUBIC, antialias=False)``); then ``(x - mean) / std`` per
RGB channel. The resize is two separable weight matrices, so it is exact NumPy, not an approximation of
TF through another library's filter (Pillow's bicubic uses a = -0.5 too, but widens the kernel when
shrinking, which TF without antialiasing does not).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

import numpy as np

from sax_worker.vision.config import Preprocessing
from sax_worker.vision.images import open_image

#: Keys' cubic convolution parameter; TF's ``KeysCubicKernelFunc`` (and Pax through it) uses -0.5.
KEYS_A: Final = -0.5


def crop_window(height: int, width: int, crop_fraction: float) -> tuple[int, int, int]:
    """``(top, left, side)`` of the centre square crop of an image of ``height`` x ``width`` pixels.

    Pax computes the side as ``⌊(224 / 256) · min(h, w)⌋`` in float32, where 224/256 = 0.875 is exact.
    Here the fraction is read as the decimal it was written as (``repr``), and the product is taken in
    integers, so 0.875 gives Pax's sides exactly and a fraction such as 0.7 is not floored one pixel
    short by its binary rounding (0.7 · 10 = 6.999…). ``ValueError`` when the crop would be empty.
    """
    fraction = Fraction(repr(float(crop_fraction)))
    short = min(height, width)
    side = short * fraction.numerator // fraction.denominator
    if side < 1:
        raise ValueError(
            f"image is {width}x{height} pixels: a centre crop of {crop_fraction} of its short side is "
            "empty; send a larger image"
        )
    return (height - side + 1) // 2, (width - side + 1) // 2, side


def keys_cubic(distance: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, radius 2, at ``distance`` (in input pixels)."""
    x = np.abs(distance)
    a = KEYS_A
    near = ((a + 2) * x - (a + 3)) * x * x + 1  # |x| < 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # 1 <= |x| < 2
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def resize_weights(in_size: int, out_size: int) -> np.ndarray:
    """``[out_size, in_size]`` float32 bicubic weights of TF's ``scale_and_translate`` without antialias.

    Output pixel ``i`` samples the input at ``(i + 0.5) · in / out`` (half-pixel centres); input pixel
    ``x`` sits at ``x + 0.5`` and weighs ``keys_cubic`` of the distance, unscaled whether the image
    shrinks or grows. Taps outside the image are dropped and each row is renormalised to sum to 1, which
    is how TF treats the borders (no edge replication).
    """
    centres = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size)  # [out]
    taps = np.arange(in_size, dtype=np.float64) + 0.5  # [in]
    weights = keys_cubic(taps[None, :] - centres[:, None])  # [out, in]
    # Never near zero: the nearest tap is at most half a pixel away and weighs at least 0.5625.
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def resize_bicubic(pixels: np.ndarray, size: int) -> np.ndarray:
    """``pixels`` [H, W, C] resized to float32 [size, size, C], unclipped (bicubic over/undershoots)."""
    rows = resize_weights(pixels.shape[0], size)  # [size, H]
    cols = resize_weights(pixels.shape[1], size)  # [size, W]
    image = pixels.astype(np.float32)
    tall = np.tensordot(rows, image, axes=(1, 0))  # [size, W, C]
    return np.einsum("pw,owc->opc", cols, tall, optimize=True).astype(np.float32)


def preprocess(data: bytes, p: Preprocessing) -> np.ndarray:
    """Image bytes (JPEG, PNG or WebP) to the network's float32 [S, S, 3] input, S = ``p.image_size``.

    ``ValueError`` for bytes that are not such an image, corrupt pixel data or an image too small to crop.
    """
    image = open_image(data)
    width, height = image.size
    top, left, side = crop_window(height, width, p.crop_fraction)
    try:
        window = np.asarray(image.crop((left, top, left + side, top + side)).convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as err:  # truncated or corrupt pixel data
        raise ValueError(f"image_bytes ({len(data)} bytes) could not be decoded: {err}") from err
    resized = resize_bicubic(window, p.image_size)  # [S, S, 3]
    mean = np.asarray(p.mean, dtype=np.float32)
    std = np.asarray(p.std, dtype=np.float32)
    return (resized - mean) / std
