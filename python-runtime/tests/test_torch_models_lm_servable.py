"""The PyTorch LLaMA servable against the JAX one: same config, seed and weights, the same answers.

Both are built by the worker's builder table (framework "torch" and "jax"); float32 answers agree within
1e-4 and greedy texts exactly. A Pax step directory written by the existing checkpoint code loads too.
"""

import jax
import numpy as np
import pytest
import torch

from sax_worker.models.checkpoint import save_params
from sax_worker.servables.registry import build_servable
from sax_worker.torch_models import TorchLmServable
from sax_worker.torch_models.weights import torch_device
from tiny_models import GREEDY_SERVING, SMALL_LLAMA

TOLERANCE = 1e-4
MODEL = SMALL_LLAMA
GREEDY = {**GREEDY_SERVING, "enableGradient": True}
MAX_STEPS = GREEDY["maxDecodeSteps"]
SAMPLING = {
    **GREEDY,
    "numSamples": 3,
    "topK": 40,
    "temperature": 1.0,
    "extraInputs": {
        "temperature": 1.0,
        "per_example_max_decode_steps": MAX_STEPS,
        "per_example_top_k": 40,
        "per_example_top_p": None,
    },
}
SEED = 1234


def config(framework, serving=GREEDY, **architecture):
    return {
        "kind": "lm",
        "framework": framework,
        "architecture": {**MODEL, **architecture},
        "tokenizer": {"type": "bytes"},
        "serving": serving,
        "meshShapes": [[1, 1, 1]],
        "randomWeightsWhenNoCheckpoint": True,
    }


def build(framework, serving=GREEDY, checkpoint="None", seed=SEED, **architecture):
    return build_servable(config(framework, serving, **architecture), checkpoint, seed)


@pytest.fixture(scope="module", params=["gqa", "mha_combined_qkv"])
def pair(request):
    """(torch servable, JAX servable) over the same seeded random weights."""
    architecture = {"numKvHeads": 4, "useMqa": False} if request.param == "mha_combined_qkv" else {}
    return build("torch", **architecture), build("jax", **architecture)


def test_builds_the_jax_servables_random_weights_exactly():
    torch_servable, jax_servable = build("torch"), build("jax")
    params = jax.device_get(jax_servable.params)

    np.testing.assert_array_equal(torch_servable.params.embedding.numpy(), params["embedding"])
    np.testing.assert_array_equal(torch_servable.params.softmax.numpy(), params["softmax"].T)
    assert isinstance(torch_servable, TorchLmServable)


@pytest.mark.parametrize("text", ["Hello", "The quick brown fox", ""])
def test_greedy_generation_equals_the_jax_servables(pair, text):
    [ours], [theirs] = (s.call("lm.generate", {"text": text})["texts"] for s in pair)

    assert ours["text"] == theirs["text"]
    assert ours["score"] == pytest.approx(theirs["score"], abs=TOLERANCE)


@pytest.mark.parametrize(
    ("method", "request_", "key"),
    [
        ("lm.score", {"prefix": "The cat", "suffix": [" sat on"]}, "logp"),
        ("lm.score", {"prefix": "", "suffix": ["x"]}, "logp"),
        ("lm.embed", {"text": "Hello there"}, "embedding"),
    ],
)
def test_scores_and_embeddings_equal_the_jax_servables(pair, method, request_, key):
    ours, theirs = (s.call(method, request_)[key] for s in pair)

    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE)


def test_gradient_equals_the_jax_servables(pair):
    ours, theirs = (s.call("lm.gradient", {"prefix": "He", "suffix": "llo"}) for s in pair)

    np.testing.assert_allclose(ours["score"], theirs["score"], rtol=0, atol=TOLERANCE)
    name = "gradients/inputs/embeddings"
    np.testing.assert_allclose(ours["gradients"][name], theirs["gradients"][name], rtol=0, atol=TOLERANCE)


def test_streams_the_jax_servables_chunks(pair):
    ours, theirs = (list(s.stream("lm.generate_stream", {"text": "Hello"})) for s in pair)

    def texts(chunks):
        return [[(item["text"], item["prefix_len"]) for item in chunk["items"]] for chunk in chunks]

    def scores(chunks):
        return [score for chunk in chunks for item in chunk["items"] for score in item["scores"]]

    assert texts(ours) == texts(theirs)
    np.testing.assert_allclose(scores(ours), scores(theirs), rtol=0, atol=TOLERANCE)


def test_loads_a_pax_checkpoint_saved_by_the_checkpoint_code(tmp_path):
    jax_servable = build("jax")
    step_dir = tmp_path / "checkpoint_00000000"
    save_params(jax_servable.cfg, jax_servable.params, step_dir)

    loaded, seeded = build("torch", checkpoint=str(step_dir), seed=1), build("torch")

    assert loaded.load_info["checkpoint_bytes"] > 0
    for method, request in [("lm.generate", {"text": "Hi"}), ("lm.score", {"prefix": "a", "suffix": ["b"]})]:
        assert loaded.call(method, request) == seeded.call(method, request)


def test_sampling_is_reproducible_from_the_seed():
    first, second = build("torch", SAMPLING), build("torch", SAMPLING)

    answers = [[s.call("lm.generate", {"text": "Hello"}) for _ in range(2)] for s in (first, second)]

    assert answers[0] == answers[1]
    assert answers[0][0] != answers[0][1]  # each request draws its own noise
    assert len({sample["text"] for sample in answers[0][0]["texts"]}) > 1


def test_sampling_honours_the_extra_inputs():
    sampled, greedy = build("torch", SAMPLING), build("torch")
    expected = greedy.call("lm.generate", {"text": "Hello"})["texts"][0]["text"]

    def generate(**items):
        return sampled.call("lm.generate", {"text": "Hello", "extra_inputs": {"items": items}})["texts"]

    assert {s["text"] for s in generate(temperature=0.0)} == {expected}
    assert {s["text"] for s in generate(per_example_top_k=1)} == {expected}
    assert {s["text"] for s in generate(per_example_top_p=0.0)} == {expected}
    assert {s["text"] for s in generate(temperature=0.0, per_example_max_decode_steps=3)} == {expected[:3]}


def test_rejects_an_undeclared_extra_input():
    with pytest.raises(ValueError, match=r"'top_k' \(items\) is not declared"):
        build("torch", SAMPLING).call("lm.generate", {"text": "a", "extra_inputs": {"items": {"top_k": 1}}})


def test_batches_score_requests_dynamically_with_the_same_answers():
    batched = build("torch", {**GREEDY, "batchSize": [1, 4]})

    assert batched.scheduled_methods == {"lm.score", "lm.embed"}
    logp = batched.call("lm.score", {"prefix": "The cat", "suffix": [" sat on"]})["logp"]
    expected = build("torch").call("lm.score", {"prefix": "The cat", "suffix": [" sat on"]})["logp"]
    np.testing.assert_allclose(logp, expected, rtol=0, atol=TOLERANCE)


def test_rejects_continuous_batching():
    with pytest.raises(ValueError, match="one request at a time: numCacheSlots must be 0, got 4"):
        build("torch", {**GREEDY, "numCacheSlots": 4})


def test_the_worker_builds_no_torch_lm_cloud():
    with pytest.raises(ValueError, match="unknown servable kind 'lm/lm_cloud@torch'"):
        build_servable(
            {"kind": "lm", "framework": "torch", "architecture": {"family": "lm_cloud"}}, "None", 1
        )


@pytest.mark.parametrize(("platforms", "device"), [(None, "cpu"), ("", "cpu"), ("cpu", "cpu")])
def test_follows_the_model_servers_jax_platforms(platforms, device):
    assert torch_device(platforms).type == device


def test_refuses_platforms_torch_cannot_serve_here():
    with pytest.raises(ValueError, match="cpu or cuda, not 'tpu'"):
        torch_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA device"):
            torch_device("cuda")
