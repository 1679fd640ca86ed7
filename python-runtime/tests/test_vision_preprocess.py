"""ImageNet eval pre-processing (centre crop, TF bicubic resize, normalisation) and classifier labels."""

import io

import jax
import numpy as np
import pytest
from PIL import Image

from sax_worker.vision.config import Preprocessing
from sax_worker.vision.labels import class_labels, imagenet_labels, top_k
from sax_worker.vision.preprocess import crop_window, preprocess, resize_bicubic, resize_weights

PLAIN = Preprocessing(image_size=16, crop_fraction=0.875)


def encode(pixels, fmt, **options):
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt, **options)
    return out.getvalue()


def smooth_pixels(height, width):
    """A gradient with some texture: JPEG keeps it close, so lossy and lossless decodes compare."""
    y, x = np.mgrid[0:height, 0:width]
    channels = [x * 200 / width + 20, y * 200 / height + 20, (x + y) * 100 / (width + height) + 60]
    return np.stack(channels, axis=-1).astype(np.uint8)


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [
        (375, 500, (24, 86, 328)),  # landscape: s = floor(0.875 * 375) = 328
        (500, 375, (86, 24, 328)),  # portrait
        (256, 256, (16, 16, 224)),
        (101, 99, (8, 7, 86)),  # odd sizes: the extra pixel goes before the crop, (h - s + 1) // 2
        (7, 7, (1, 1, 6)),
    ],
)
def test_centre_crop_takes_seven_eighths_of_the_short_side(height, width, expected):
    assert crop_window(height, width, 0.875) == expected


def test_crop_fraction_is_read_as_the_decimal_written():
    assert crop_window(10, 10, 0.7)[2] == 7  # 0.7 * 10 in binary floating point floors to 6


def test_an_image_too_small_to_crop_is_refused():
    with pytest.raises(ValueError, match=r"1x1 pixels.*empty"):
        crop_window(1, 1, 0.875)


@pytest.mark.parametrize(("in_size", "out_size"), [(328, 224), (224, 224), (5, 9), (17, 4), (1, 3)])
def test_resize_weight_rows_sum_to_one(in_size, out_size):
    weights = resize_weights(in_size, out_size)
    assert weights.shape == (out_size, in_size)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)


def test_same_size_resize_is_the_identity():
    np.testing.assert_array_equal(resize_weights(6, 6), np.eye(6, dtype=np.float32))


def test_shrinking_four_pixels_to_two_matches_keys_weights_by_hand():
    # Output 0 samples at 1.0; taps at 0.5, 1.5, 2.5, 3.5 are 0.5, 0.5, 1.5, 2.5 away.
    # k(0.5) = 1.5/8 - 2.5/4 + 1 = 0.5625, k(1.5) = -0.0625, k(2.5) = 0; the sum 1.0625 = 17/16, so the
    # weights are 9/17, 9/17, -1/17, 0 (no widening of the kernel when shrinking: no antialias).
    expected = np.array([[9, 9, -1, 0], [0, -1, 9, 9]]) / 17
    np.testing.assert_allclose(resize_weights(4, 2), expected, atol=1e-7)


def test_growing_two_pixels_to_four_matches_keys_weights_by_hand():
    # Outputs sample at 0.25, 0.75, 1.25, 1.75; taps at 0.5 and 1.5 (the others fall outside and drop).
    # Output 0: distances 0.25 and 1.25: k = 111/128 and -9/128, renormalised by 102/128 -> 37/34, -3/34.
    # Output 1: distances 0.25 and 0.75: k = 111/128 and 29/128, renormalised by 140/128.
    expected = np.array(
        [[37 / 34, -3 / 34], [111 / 140, 29 / 140], [29 / 140, 111 / 140], [-3 / 34, 37 / 34]]
    )
    np.testing.assert_allclose(resize_weights(2, 4), expected, atol=1e-7)


def test_a_constant_image_stays_constant():
    image = np.full((13, 13, 3), 77, np.uint8)
    np.testing.assert_allclose(resize_bicubic(image, 5), 77.0, atol=1e-4)


def test_resize_matches_jax_scale_and_translate_which_mirrors_tf():
    image = np.random.default_rng(0).uniform(0, 255, (37, 37, 3)).astype(np.float32)
    for size in (16, 50):
        reference = jax.image.resize(image, (size, size, 3), "bicubic", antialias=False)
        np.testing.assert_allclose(resize_bicubic(image, size), np.asarray(reference), atol=2e-3)


def test_resize_overshoots_without_clipping():
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, 4:] = 255
    out = resize_bicubic(image, 13)
    assert out.min() < 0
    assert out.max() > 255


def test_preprocess_crops_the_centre_then_resizes():
    pixels = np.random.default_rng(1).integers(0, 256, (30, 20, 3), dtype=np.uint8)
    top, left, side = crop_window(30, 20, 0.875)
    expected = resize_bicubic(pixels[top : top + side, left : left + side], 16)
    np.testing.assert_allclose(preprocess(encode(pixels, "PNG"), PLAIN), expected, atol=1e-4)


def test_preprocess_normalises_per_channel():
    data = encode(smooth_pixels(24, 24), "PNG")
    p = Preprocessing(image_size=16, mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
    raw = preprocess(data, PLAIN)
    expected = (raw - np.array(p.mean, np.float32)) / np.array(p.std, np.float32)
    np.testing.assert_allclose(preprocess(data, p), expected, rtol=1e-5, atol=1e-5)


def test_png_webp_and_jpeg_of_the_same_pixels_decode_alike():
    pixels = smooth_pixels(40, 56)
    png = preprocess(encode(pixels, "PNG"), PLAIN)
    webp = preprocess(encode(pixels, "WEBP", lossless=True), PLAIN)
    jpeg = preprocess(encode(pixels, "JPEG", quality=95), PLAIN)
    assert png.shape == (16, 16, 3)
    assert png.dtype == np.float32
    np.testing.assert_array_equal(webp, png)
    assert np.abs(jpeg - png).mean() < 3.0  # lossy


def test_grey_and_alpha_images_become_rgb():
    grey = preprocess(encode(np.full((20, 20), 90, np.uint8), "PNG"), PLAIN)
    rgba = np.dstack([smooth_pixels(20, 20), np.full((20, 20), 128, np.uint8)])
    assert grey.shape == preprocess(encode(rgba, "PNG"), PLAIN).shape == (16, 16, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"definitely not an image", "not a decodable JPEG, PNG or WebP"),
        (encode(smooth_pixels(8, 8), "GIF"), "not a decodable JPEG, PNG or WebP"),
        (encode(smooth_pixels(64, 64), "PNG")[:200], "could not be decoded"),
    ],
    ids=["empty", "garbage", "gif", "truncated png"],
)
def test_bytes_that_are_not_an_accepted_image_are_a_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        preprocess(data, PLAIN)


def test_imagenet_labels_are_in_index_order():
    labels = imagenet_labels()
    assert len(labels) == 1000
    assert labels[0] == "tench, Tinca tinca"
    assert labels[1] == "goldfish, Carassius auratus"
    assert labels[999] == "toilet tissue, toilet paper, bathroom tissue"
    assert class_labels(1000) is labels


def test_other_class_counts_get_placeholder_labels():
    assert class_labels(3) == ("class_0", "class_1", "class_2")


def test_top_k_sorts_by_descending_score_and_breaks_ties_by_index():
    scores = np.array([[0.1, 0.7, 0.7, -1.0, 0.7], [3.0, 2.0, 1.0, 0.0, -1.0]], np.float32)
    rows = top_k(scores, 3, class_labels(5))
    assert [[entry["text"] for entry in row] for row in rows] == [
        ["class_1", "class_2", "class_4"],
        ["class_0", "class_1", "class_2"],
    ]
    assert rows[1][0]["score"] == 3.0
    assert isinstance(rows[1][0]["score"], float)


def test_top_k_beyond_the_class_count_returns_every_class():
    assert len(top_k(np.zeros((1, 2), np.float32), 5, class_labels(2))[0]) == 2
