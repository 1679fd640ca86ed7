"""The ResNet classifier in JAX and PyTorch: one state dict, the same answers; classify, embed, batching."""

import io
import time

import numpy as np
import pytest
import safetensors.numpy
import torch
import torchvision
from PIL import Image

from sax_worker.servables.direct import CollectingReply
from sax_worker.vision.builders import build_vision_servable
from sax_worker.vision.config import parse_vision_config
from sax_worker.vision.labels import imagenet_labels
from sax_worker.vision.resnet_common import ResNetConfig, state_dict_shapes
from vision_configs import vision_config

SMALL = {"family": "resnet", "blockCounts": [1, 1, 1, 1], "widths": [4, 8, 8, 16], "numClasses": 10}
RESNET50 = {
    "family": "resnet",
    "blockCounts": [3, 4, 6, 3],
    "widths": [64, 128, 256, 512],
    "numClasses": 1000,
}
TORCH_MEAN, TORCH_STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def config(framework="jax", *, architecture=SMALL, image_size=32, top_k=5, scores="log_probs", batch_size=1):
    preprocessing = {"imageSize": image_size, "cropFraction": 0.875, "mean": TORCH_MEAN, "std": TORCH_STD}
    return vision_config(
        architecture,
        ["vm.classify", "vm.embed"],
        framework=framework,
        preprocessing=preprocessing,
        topK=top_k,
        scores=scores,
        serving={"batchSize": batch_size, "batchWaitSecs": None, "maxLiveBatches": 4},
    )


def build(checkpoint="None", seed=0, framework="jax", **options):
    return build_vision_servable(config(framework, **options), checkpoint, seed)


def trained_looking_state(architecture=SMALL, seed=7):
    """Random weights with non-trivial BatchNorms (the seeded init zeroes every residual branch)."""
    rng = np.random.default_rng(seed)
    shapes = state_dict_shapes(ResNetConfig.of(parse_vision_config(config(architecture=architecture), "x")))
    state = {}
    for name, shape in shapes.items():
        if len(shape) == 4:
            state[name] = rng.normal(0, np.sqrt(2 / np.prod(shape[1:])), shape)
        elif name.endswith((".weight", ".running_var")) and len(shape) == 1:
            state[name] = rng.uniform(0.5, 1.5, shape)
        else:
            state[name] = rng.normal(0, 0.1 if len(shape) == 1 else 0.3, shape)
    return {name: value.astype(np.float32) for name, value in state.items()}


def image_bytes(height=48, width=40, seed=0, fmt="PNG"):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def scores_by_label(answer):
    return {entry["text"]: entry["score"] for entry in answer["texts"]}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("resnet") / "small.safetensors"
    safetensors.numpy.save_file(trained_looking_state(), str(path))
    return str(path)


@pytest.fixture(scope="module")
def servables(checkpoint):
    """Servables over one checkpoint: JAX and torch answering every class's raw logit, and JAX's default."""
    return {
        "jax": build(checkpoint, framework="jax", top_k=10, scores="logits"),
        "torch": build(checkpoint, framework="torch", top_k=10, scores="logits"),
        "jax_log_probs": build(checkpoint),
    }


def test_jax_and_torch_answer_the_same_logits_and_embeddings_from_one_checkpoint(servables):
    request = {"image_bytes": image_bytes()}
    jax_logits = scores_by_label(servables["jax"].call("vm.classify", request))
    torch_logits = scores_by_label(servables["torch"].call("vm.classify", request))
    assert jax_logits.keys() == torch_logits.keys() == {f"class_{i}" for i in range(10)}
    for label, logit in jax_logits.items():
        assert logit == pytest.approx(torch_logits[label], abs=1e-4)
    jax_embedding = servables["jax"].call("vm.embed", request)["embedding"]
    torch_embedding = servables["torch"].call("vm.embed", request)["embedding"]
    assert len(jax_embedding) == len(torch_embedding) == 4 * SMALL["widths"][-1]
    np.testing.assert_allclose(jax_embedding, torch_embedding, atol=1e-4)


def test_classify_answers_the_top_k_log_probabilities_best_first(servables):
    request = {"image_bytes": image_bytes(seed=3)}
    texts = servables["jax_log_probs"].call("vm.classify", request)["texts"]
    scores = [entry["score"] for entry in texts]
    assert len(texts) == 5
    assert scores == sorted(scores, reverse=True)
    assert sum(np.exp(scores)) <= 1.0
    logits = scores_by_label(servables["torch"].call("vm.classify", request))
    log_z = np.log(np.sum(np.exp(list(logits.values()))))
    for entry in texts:
        assert entry["score"] == pytest.approx(logits[entry["text"]] - log_z, abs=1e-4)


def test_log_probabilities_of_every_class_sum_to_one(checkpoint):
    texts = build(checkpoint, top_k=10).call("vm.classify", {"image_bytes": image_bytes()})["texts"]
    assert sum(np.exp([entry["score"] for entry in texts])) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_a_bad_image_fails_only_its_own_request_in_a_batch(checkpoint, servables, framework):
    servable = build(checkpoint, framework=framework, top_k=10, scores="logits", batch_size=2)
    good = {"image_bytes": image_bytes(seed=5)}
    replies = [CollectingReply(), CollectingReply()]
    servable.submit("good", "vm.classify", good, replies[0])
    servable.submit("bad", "vm.classify", {"image_bytes": b"GIF89a not really"}, replies[1])
    servable.step()
    alone = scores_by_label(servables[framework].call("vm.classify", good))
    # A batch of 2 runs another program than a batch of 1: equal up to float rounding, not bit for bit.
    assert scores_by_label(replies[0].answer) == pytest.approx(alone, abs=1e-5)
    assert isinstance(replies[1].failure, ValueError)
    assert "not a decodable JPEG, PNG or WebP" in str(replies[1].failure)


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_a_checkpoint_tensor_of_the_wrong_shape_is_named(tmp_path, framework):
    state = trained_looking_state()
    state["layer2.0.conv2.weight"] = np.zeros((8, 8, 1, 1), np.float32)
    path = tmp_path / "bad.safetensors"
    safetensors.numpy.save_file(state, str(path))
    with pytest.raises(ValueError, match=r"wrong shape: layer2\.0\.conv2\.weight \(8, 8, 1, 1\) \(expected"):
        build(str(path), framework=framework)


def test_missing_and_unexpected_checkpoint_tensors_are_listed(tmp_path):
    state = trained_looking_state()
    state["head.weight"] = state.pop("fc.weight")
    path = tmp_path / "renamed.safetensors"
    safetensors.numpy.save_file(state, str(path))
    with pytest.raises(ValueError, match=r"missing: fc\.weight; unexpected: head\.weight"):
        build(str(path))


def test_a_torch_state_dict_with_batch_counters_loads_like_safetensors(tmp_path, servables):
    state = {name: torch.from_numpy(value) for name, value in trained_looking_state().items()}
    for name in [n for n in state if n.endswith(".running_var")]:
        state[name.replace(".running_var", ".num_batches_tracked")] = torch.tensor(100)
    path = tmp_path / "small.pt"
    torch.save(state, path)
    request = {"image_bytes": image_bytes(seed=9)}
    for framework in ("jax", "torch"):
        loaded = build(str(path), framework=framework, top_k=10, scores="logits")
        assert loaded.call("vm.classify", request) == servables[framework].call("vm.classify", request)
        assert loaded.load_info["checkpoint_bytes"] == path.stat().st_size


def test_seeded_random_weights_are_reproducible_and_shared_by_both_backends():
    request = {"image_bytes": image_bytes(seed=11)}
    first, again, other = (build(seed=s, top_k=10).call("vm.classify", request) for s in (1, 1, 2))
    assert first == again
    assert first != other
    in_torch = build(seed=1, framework="torch", top_k=10).call("vm.classify", request)
    for label, score in scores_by_label(first).items():
        assert score == pytest.approx(scores_by_label(in_torch)[label], abs=1e-5)


def test_the_resnet50_layout_is_torchvisions():
    reference = torchvision.models.resnet50(weights=None).state_dict()
    expected = [(name, tuple(t.shape)) for name, t in reference.items() if "num_batches" not in name]
    cfg = ResNetConfig.of(parse_vision_config(config(architecture=RESNET50), "None"))
    assert list(state_dict_shapes(cfg).items()) == expected


def test_load_info_counts_parameters_bytes_and_seconds(servables):
    info = servables["jax"].load_info
    assert info["parameters"] == sum(
        v.size for k, v in trained_looking_state().items() if ".running_" not in k
    )
    assert info["checkpoint_bytes"] > 0
    assert info["weights_seconds"] >= 0
    assert info["compile_seconds"] > 0
    assert servables["torch"].load_info["parameters"] == info["parameters"]


@pytest.mark.parametrize(
    ("changes", "checkpoint", "message"),
    [
        ({"methods": ["vm.classify", "vm.detect"]}, "None", r"also asks for \['vm.detect'\]"),
        ({"preprocessing": None}, "None", "'preprocessing' is required"),
        ({"architecture": {**SMALL, "widths": [4, 8]}}, "None", "equal, non-zero length"),
        ({"randomWeightsWhenNoCheckpoint": False}, "None", "randomWeightsWhenNoCheckpoint is false"),
        ({}, "/nowhere/resnet.safetensors", "does not exist"),
    ],
)
def test_config_and_checkpoint_errors_are_value_errors(changes, checkpoint, message):
    raw = {**config(), **changes}
    with pytest.raises(ValueError, match=message):
        build_vision_servable(raw, checkpoint, 0)


def test_resnet50_with_random_weights_classifies_a_jpeg_with_imagenet_labels():
    start = time.monotonic()
    raw = config(architecture=RESNET50, image_size=224)
    raw["preprocessing"] = {"imageSize": 224, "cropFraction": 0.875, "mean": [0, 0, 0], "std": [1, 1, 1]}
    servable = build_vision_servable(raw, "None", 0)
    texts = servable.call("vm.classify", {"image_bytes": image_bytes(300, 200, fmt="JPEG")})["texts"]
    assert len(texts) == 5
    assert {entry["text"] for entry in texts} <= set(imagenet_labels())
    assert all(entry["score"] < 0 for entry in texts)
    assert servable.load_info["parameters"] == 25_557_032
    servable.close()
    assert time.monotonic() - start < 40
