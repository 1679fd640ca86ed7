"""Image bytes in requests: decoding JPEG, PNG and WebP into RGB pixels, and PNG out.

Saxml's vision methods take JPEG; sax-ts also takes PNG and WebP. Any other or undecodable bytes are a
``ValueError`` (INVALID_ARGUMENT) naming what was wrong, never a worker crash. Decoding never trusts the
declared size blindly: images over ``MAX_PIXELS`` are refused before their pixels are read.
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
from PIL import Image

#: Formats a request's image may have (Pillow's format names).
ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP")

#: The largest image decoded, in pixels (a 64-megapixel photo); larger ones are refused.
MAX_PIXELS: Final = 64 * 1024 * 1024


def open_image(data: bytes) -> Image.Image:
    """Opens (without decoding the pixels) a JPEG, PNG or WebP image; ``ValueError`` otherwise."""
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) == 0:
        raise ValueError("image_bytes is empty: send a JPEG, PNG or WebP image")
    try:
        image = Image.open(io.BytesIO(bytes(data)), formats=ACCEPTED_FORMATS)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(
            f"image_bytes ({len(data)} bytes) is not a decodable JPEG, PNG or WebP image: {err}"
        ) from err
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ValueError(f"image is {width}x{height} pixels, more than the {MAX_PIXELS} this server decodes")
    return image


def decode_rgb(data: bytes) -> np.ndarray:
    """The image's pixels as uint8 [height, width, 3] RGB (alpha dropped, grey and palettes expanded)."""
    image = open_image(data)
    try:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as err:  # truncated or corrupt pixel data
        raise ValueError(f"image_bytes ({len(data)} bytes) could not be decoded: {err}") from err


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of uint8 [height, width, 3] RGB pixels."""
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), mode="RGB").save(out, format="PNG")
    return out.getvalue()
