"""The torchvision Faster R-CNN detector (``vm.detect``) from seeded random weights, on the CPU.

Random weights score every class about equally, so the config keeps every detection (scoreThreshold
0) and caps them at 10: the tests check the reply's invariants and its reproducibility, not what the
model finds. The model is built once per module; each call costs about a second on two cores.
"""

import io

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file

from sax_worker.vision.builders import build_vision_servable
from sax_worker.vision.coco import BACKGROUND, COCO_91, PLACEHOLDER
from sax_worker.vision.detector_torch import DetectorArchitecture, build_detector
from vision_configs import vision_config

SEED = 7
MAX_DETECTIONS = 10
WIDTH, HEIGHT = 128, 96
ARCHITECTURE = {
    "family": "faster_rcnn",
    "backbone": "mobilenet_v3_large_320",
    "numClasses": 91,
    "minSize": 320,
    "maxSize": 640,
    "scoreThreshold": 0.0,
    "detectionsPerImage": MAX_DETECTIONS,
}
CONFIG = vision_config(ARCHITECTURE, ["vm.detect"])
PIXELS = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def encode(pixels, image_format, **options):
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=image_format, **options)
    return out.getvalue()


def detect(servable, image_bytes, **fields):
    return servable.call("vm.detect", {"image_bytes": image_bytes, **fields})["bounding_boxes"]


@pytest.fixture(scope="module")
def servable():
    return build_vision_servable(CONFIG, "None", SEED)


@pytest.fixture(scope="module")
def png_boxes(servable):
    return detect(servable, encode(PIXELS, "PNG"))


def test_detects_boxes_inside_the_image_with_coco_names_best_first(png_boxes):
    assert 0 < len(png_boxes) <= MAX_DETECTIONS
    for box in png_boxes:
        assert set(box) == {"cx", "cy", "w", "h", "text", "score"}
        assert 0 <= box["cx"] <= WIDTH
        assert 0 <= box["cy"] <= HEIGHT
        assert box["w"] >= 0
        assert box["h"] >= 0
        assert box["text"] in COCO_91
        assert box["text"] not in (BACKGROUND, PLACEHOLDER)
    scores = [box["score"] for box in png_boxes]
    assert scores == sorted(scores, reverse=True)


def test_a_second_servable_of_the_same_seed_finds_the_same_boxes(png_boxes):
    assert detect(build_vision_servable(CONFIG, "None", SEED), encode(PIXELS, "PNG")) == png_boxes


def test_reads_png_lossless_webp_and_jpeg(servable, png_boxes):
    assert detect(servable, encode(PIXELS, "WEBP", lossless=True)) == png_boxes
    assert 0 < len(detect(servable, encode(PIXELS, "JPEG", quality=90))) <= MAX_DETECTIONS


def test_ignores_text_prompts_and_boxes_of_interest(servable, png_boxes):
    box = {"cx": 10.0, "cy": 10.0, "w": 5.0, "h": 5.0}
    assert detect(servable, encode(PIXELS, "PNG"), text=["a cat"], boxes=[box]) == png_boxes


def test_rejects_undecodable_image_bytes(servable):
    with pytest.raises(ValueError, match="not a decodable JPEG, PNG or WebP"):
        detect(servable, b"GIF89a not an image")


def test_rejects_extra_inputs(servable):
    request = {"image_bytes": encode(PIXELS, "PNG"), "extra_inputs": {"items": {"temperature": 1.0}}}
    with pytest.raises(ValueError, match="declares no extra inputs"):
        servable.call("vm.detect", request)


def test_loads_a_state_dict_file_instead_of_seeded_weights(tmp_path, png_boxes):
    path = tmp_path / "detector.safetensors"
    save_file(build_detector(DetectorArchitecture.from_dict(ARCHITECTURE), SEED).state_dict(), path)
    loaded = build_vision_servable(CONFIG, str(path), seed=SEED + 1)
    assert loaded.load_info["checkpoint_bytes"] == path.stat().st_size
    assert detect(loaded, encode(PIXELS, "PNG")) == png_boxes


def test_rejects_a_state_dict_of_another_model(tmp_path):
    path = tmp_path / "other.safetensors"
    save_numpy({"fc.weight": np.zeros((2, 2), np.float32)}, path)
    with pytest.raises(ValueError, match="does not fit this faster_rcnn model"):
        build_vision_servable(CONFIG, str(path), SEED)


def test_reports_what_loading_cost(servable):
    assert set(servable.load_info) == {"parameters", "weights_seconds", "checkpoint_bytes"}
    assert servable.load_info["parameters"] > 1e6
    assert servable.load_info["checkpoint_bytes"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"backbone": "resnet50"}, "backbone must be one of"),
        ({"numClasses": 80}, "numClasses must be 91"),
        ({"anchorSizes": [32]}, "unknown keys"),
    ],
)
def test_rejects_architectures_it_cannot_build(change, message):
    with pytest.raises(ValueError, match=message):
        build_vision_servable({**CONFIG, "architecture": {**ARCHITECTURE, **change}}, "None", SEED)
