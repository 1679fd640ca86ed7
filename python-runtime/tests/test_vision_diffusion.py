"""The tiny text-to-image diffusion model (``vm.generate``) from seeded random weights, on the CPU.

Untrained weights draw no recognisable pictures, so the tests check the reply's shape and order and
what the answers depend on: the load seed, the request sequence and the text (its first
``maxTextBytes`` bytes).
"""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from sax_worker.vision.builders import build_vision_servable
from sax_worker.vision.diffusion_torch import Denoiser, DiffusionArchitecture
from vision_configs import vision_config

SEED = 11
IMAGE_SIZE = 32
NUM_SAMPLES = 2
MAX_TEXT_BYTES = 64
ARCHITECTURE = {
    "family": "tiny_diffusion",
    "imageSize": IMAGE_SIZE,
    "baseChannels": 32,
    "textDims": 64,
    "maxTextBytes": MAX_TEXT_BYTES,
    "steps": 10,
    "numSamples": NUM_SAMPLES,
}
CONFIG = vision_config(ARCHITECTURE, ["vm.generate"])


def build(seed=SEED, checkpoint="None"):
    return build_vision_servable(CONFIG, checkpoint, seed)


def generate(servable, text):
    return servable.call("vm.generate", {"text": text})["images"]


def image_bytes(servable, *texts):
    """The PNG bytes ``servable`` answers to ``texts``, one request after another."""
    return [[sample["image"] for sample in generate(servable, text)] for text in texts]


def test_answers_num_samples_rgb_png_images_best_score_first():
    samples = generate(build(), "a red cat")
    assert len(samples) == NUM_SAMPLES
    for sample in samples:
        image = Image.open(io.BytesIO(sample["image"]), formats=["PNG"])
        assert (image.mode, image.size) == ("RGB", (IMAGE_SIZE, IMAGE_SIZE))
    scores = [sample["score"] for sample in samples]
    assert scores == sorted(scores, reverse=True)
    assert all(np.isfinite(scores))
    assert max(scores) <= 0


def test_fresh_servables_of_one_seed_answer_a_request_sequence_identically():
    texts = ("a red cat", "a blue dog", "a red cat")
    first, second = image_bytes(build(), *texts), image_bytes(build(), *texts)
    assert first == second
    assert first[0] != first[2]  # each request draws fresh noise


def test_different_texts_draw_different_images():
    assert image_bytes(build(), "a red cat") != image_bytes(build(), "a blue dog")


def test_different_seeds_draw_different_images():
    assert image_bytes(build(SEED), "a red cat") != image_bytes(build(SEED + 1), "a red cat")


def test_reads_only_the_first_max_text_bytes_of_the_text():
    prefix = "x" * MAX_TEXT_BYTES
    assert image_bytes(build(), prefix + " and a cat") == image_bytes(build(), prefix + " and a dog")


def test_draws_images_for_empty_and_missing_text():
    assert len(generate(build(), "")) == NUM_SAMPLES
    assert len(build().call("vm.generate", {})["images"]) == NUM_SAMPLES


def test_rejects_text_that_is_not_a_string():
    with pytest.raises(ValueError, match="'text' must be a string"):
        build().call("vm.generate", {"text": b"bytes"})


def save_seeded_weights(path, seed):
    """Writes the weights a servable loaded with ``seed`` and checkpoint "None" draws."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        save_file(Denoiser(DiffusionArchitecture.from_dict(ARCHITECTURE)).state_dict(), path)


def test_loads_a_state_dict_file_instead_of_seeded_weights(tmp_path):
    own, other = tmp_path / "own.safetensors", tmp_path / "other.safetensors"
    save_seeded_weights(own, SEED)
    save_seeded_weights(other, SEED + 1)
    seeded = image_bytes(build(SEED), "a red cat")
    loaded = build(SEED, str(own))
    assert loaded.load_info["checkpoint_bytes"] == own.stat().st_size
    assert image_bytes(loaded, "a red cat") == seeded
    assert image_bytes(build(SEED, str(other)), "a red cat") != seeded


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"imageSize": 31}, "imageSize even"),
        ({"steps": 0}, "steps 1..1000"),
        ({"guidance": 7.5}, "unknown keys"),
    ],
)
def test_rejects_architectures_it_cannot_build(change, message):
    with pytest.raises(ValueError, match=message):
        build_vision_servable({**CONFIG, "architecture": {**ARCHITECTURE, **change}}, "None", SEED)
