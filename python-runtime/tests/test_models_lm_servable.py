"""LmServable end to end on a tiny random LLaMA: generate, stream, score, embed, gradient (spec §3)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sax_worker.models import decoder, lm_programs
from sax_worker.models.byte_tokenizer import ByteTokenizer
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.lm_servable import LmServable, build_lm_servable
from sax_worker.models.lm_serving_config import LmServingConfig
from tiny_models import GREEDY_SERVING, SMALL_LLAMA

MODEL = SMALL_LLAMA
TOKENIZER = {"type": "bytes", "sosId": 256, "eosId": 257, "padId": 258}
SOS, EOS = 256, 257
GREEDY = GREEDY_SERVING
MAX_STEPS = GREEDY["maxDecodeSteps"]
SAMPLING = {
    **GREEDY,
    "numSamples": 2,
    "topK": 40,
    "temperature": 1.0,
    "extraInputs": {"temperature": 1.0, "per_example_max_decode_steps": MAX_STEPS, "per_example_top_k": 40},
}
CFG = DecoderConfig.from_dict(MODEL)
REFERENCE_LENGTH = 32  # reference forwards are right-padded to one length, so they compile once


def build(serving, seed=0):
    config = {
        "kind": "lm",
        "architecture": MODEL,
        "tokenizer": TOKENIZER,
        "serving": serving,
        "randomWeightsWhenNoCheckpoint": True,
    }
    return build_lm_servable(config, "None", seed)


def with_params(servable, params):
    """The same servable over other weights (same shapes, so the compiled programs are reused)."""
    key = jax.random.key(0)
    return LmServable(servable.cfg, params, servable.tokenizer, servable.serving, key)


def with_eos_logit(params, bias):
    """Weights whose EOS logit is ``bias`` times a large positive feature: EOS always (>0) or never (<0).

    Residual dim 0 is a constant 30 (embedding column, with no layer writing to it), so the final hidden
    state's dim 0 is positive and only the EOS column of the output projection reads it.
    """
    params = jax.tree_util.tree_map(np.array, params)
    params["embedding"][:, 0] = 30.0
    for layer in params["layers"]:  # nothing writes residual dim 0
        layer["post"][0] = 0.0  # [D, N, H]
        layer["down"][:, 0] = 0.0  # [F, D]
    params["softmax"][0, :] = 0.0
    params["softmax"][0, EOS] = bias
    return jax.device_put(params)


_forward = jax.jit(decoder.forward, static_argnums=1)


def reference(params, ids):
    """Independent full forward over ids: (log-probs [T, V], final hidden states [T, D])."""
    padded = np.zeros((1, REFERENCE_LENGTH), np.int32)
    padded[0, : len(ids)] = ids
    positions = jnp.arange(REFERENCE_LENGTH)[None]
    logits, hidden = _forward(
        params, CFG, jnp.asarray(padded), positions, jnp.ones((1, REFERENCE_LENGTH), bool)
    )
    return np.asarray(jax.nn.log_softmax(logits[0]))[: len(ids)], np.asarray(hidden[0])[: len(ids)]


def text_ids(text):
    return list(text.encode())


@pytest.fixture(scope="module")
def greedy():
    return build(GREEDY)


@pytest.fixture(scope="module")
def sampler():
    return build(SAMPLING)


def test_greedy_generate_is_deterministic_and_returns_one_text(greedy):
    first = greedy.call("lm.generate", {"text": "Hello"})
    second = greedy.call("lm.generate", {"text": "Hello"})

    assert first == second
    assert len(first["texts"]) == 1


def test_generate_stops_at_eos_and_scores_it(greedy):
    servable = with_params(greedy, with_eos_logit(greedy.params, 20.0))

    result = servable.call("lm.generate", {"text": "Hi"})

    log_probs, _ = reference(servable.params, [SOS, *text_ids("Hi")])
    assert result["texts"][0]["text"] == ""
    assert result["texts"][0]["score"] == pytest.approx(log_probs[-1, EOS], abs=1e-4)


def test_decoding_stops_at_max_steps_without_eos(greedy):
    params = with_eos_logit(greedy.params, -20.0)
    programs = lm_programs.LmPrograms(CFG, lm_programs.DecodeSettings(MAX_STEPS, 2, 40, False, (EOS,), 258))
    knobs = lm_programs.RowKnobs(
        np.ones(2, np.float32),
        np.full(2, 40, np.int32),
        np.full(2, np.nan, np.float32),
        np.array([3, 8], np.int32),
    )

    state = programs.prefill(
        params, np.array([[SOS, 65, 258]], np.int32), np.array([2], np.int32), knobs, jax.random.key(0), 0
    )
    state = programs.decode(params, state, MAX_STEPS)

    assert np.asarray(state.lengths).tolist() == [3, 8]  # per-row max steps, then the configured maximum
    assert np.asarray(state.tokens)[0, 3:].tolist() == [258] * 5  # done rows write padding


def test_generated_scores_equal_log_probs_of_an_independent_forward(sampler):
    programs = sampler.programs
    knobs = lm_programs.RowKnobs(
        np.ones(2, np.float32),
        np.full(2, 40, np.int32),
        np.full(2, np.nan, np.float32),
        np.full(2, 8, np.int32),
    )
    prompt = [SOS, *text_ids("abc")]
    padded = np.array([prompt + [258] * (8 - len(prompt))], np.int32)  # right-padded

    state = programs.prefill(
        sampler.params, padded, np.array([len(prompt)], np.int32), knobs, jax.random.key(1), 0
    )
    state = programs.decode(sampler.params, state, MAX_STEPS)

    for row in range(2):
        generated = np.asarray(state.tokens)[row, : int(state.lengths[row])].tolist()
        log_probs, _ = reference(sampler.params, prompt + generated)
        expected = [log_probs[len(prompt) - 1 + i, t] for i, t in enumerate(generated)]
        np.testing.assert_allclose(np.asarray(state.log_probs)[row, : len(generated)], expected, atol=1e-4)


def test_sampling_returns_num_samples_texts_sorted_by_score(sampler):
    texts = sampler.call("lm.generate", {"text": "Hello"})["texts"]

    assert len(texts) == 2
    assert texts[0]["score"] >= texts[1]["score"]


def test_sampling_with_the_same_seed_replays_the_same_requests(sampler):
    a, b = build(SAMPLING, seed=5), build(SAMPLING, seed=5)
    request = {"text": "Once"}

    first = [a.call("lm.generate", request) for _ in range(2)]
    second = [b.call("lm.generate", request) for _ in range(2)]

    assert first == second
    assert first[0] != first[1]  # each request folds in its own counter


def test_per_example_top_k_of_one_gives_the_temperature_zero_text(sampler):
    top1 = sampler.call("lm.generate", {"text": "Hey", "extra_inputs": {"items": {"per_example_top_k": 1}}})
    cold = sampler.call("lm.generate", {"text": "Hey", "extra_inputs": {"items": {"temperature": 0.0}}})
    greedy_text = build_greedy_twin(sampler).call("lm.generate", {"text": "Hey"})["texts"][0]["text"]

    assert [t["text"] for t in top1["texts"]] == [greedy_text] * 2
    assert top1 == cold


def build_greedy_twin(servable):
    serving = LmServingConfig.from_dict(GREEDY)
    return LmServable(servable.cfg, servable.params, servable.tokenizer, serving, jax.random.key(0))


def test_per_example_max_decode_steps_limits_the_streamed_tokens(sampler):
    servable = with_params(sampler, with_eos_logit(sampler.params, -20.0))
    request = {"text": "x", "extra_inputs": {"items": {"per_example_max_decode_steps": 3}}}

    messages = list(servable.stream("lm.generate_stream", request))

    assert len(messages) == 2  # one chunk of 3 tokens (the stream interval), then the flush
    assert all(len(item["text"].encode("utf-8", "replace")) <= 3 * 3 for item in messages[0]["items"])


def test_stream_concatenates_to_the_generated_text(greedy):
    generated = greedy.call("lm.generate", {"text": "Stream me"})["texts"][0]

    messages = list(greedy.stream("lm.generate_stream", {"text": "Stream me"}))

    items = [m["items"][0] for m in messages]
    assert "".join(item["text"] for item in items) == generated["text"]
    assert [item["prefix_len"] for item in items] == [
        sum(len(i["text"]) for i in items[:n]) for n in range(len(items))
    ]
    assert items[-1]["scores"] == [0.0]
    assert sum(item["scores"][0] for item in items) == pytest.approx(generated["score"], abs=1e-4)
    assert len(messages) == math.ceil(MAX_STEPS / 3) + 1  # no EOS: 3 + 3 + 2 tokens, then the flush


def test_score_is_the_sum_of_suffix_log_probs(greedy):
    result = greedy.call("lm.score", {"prefix": "The cat", "suffix": ["sat"]})

    prefix, suffix = text_ids("The cat"), text_ids("sat")
    log_probs, _ = reference(greedy.params, [SOS, *prefix, *suffix])
    expected = sum(log_probs[len(prefix) + j, t] for j, t in enumerate(suffix))
    assert result["logp"] == [pytest.approx(expected, abs=1e-4)]


def test_score_of_an_empty_suffix_is_zero(greedy):
    assert greedy.call("lm.score", {"prefix": "", "suffix": [""]}) == {"logp": [0.0]}


def test_embed_is_the_mean_final_hidden_state(greedy):
    embedding = greedy.call("lm.embed", {"text": "embed"})["embedding"]

    _, hidden = reference(greedy.params, [SOS, *text_ids("embed")])
    assert len(embedding) == CFG.model_dims
    np.testing.assert_allclose(embedding, hidden.mean(axis=0), atol=1e-5)


def test_a_second_request_of_the_same_bucket_does_not_recompile():
    # Settings no other test uses, so that the first request really is the first of its shapes.
    servable = build({**GREEDY, "maxDecodeSteps": 5, "bucketKeys": [4]})
    counts = lm_programs.trace_counts
    start = counts["prefill"], counts["decode"]

    servable.call("lm.generate", {"text": "ab"})
    servable.call("lm.generate", {"text": "xyz"})  # another length, same bucket (4)
    list(servable.stream("lm.generate_stream", {"text": "a"}))  # streaming shares the decode program
    assert (counts["prefill"], counts["decode"]) == (start[0] + 1, start[1] + 1)

    servable.call("lm.generate", {"text": "a longer one"})  # bucket 16
    assert (counts["prefill"], counts["decode"]) == (start[0] + 2, start[1] + 2)


@pytest.mark.parametrize(
    ("method", "request_", "message"),
    [
        ("lm.generate", {"text": "a", "extra_inputs": {"items": {"temperature": 0.5}}}, "not declared"),
        ("lm.generate", {"text": 3}, "must be a string"),
        ("lm.score", {"prefix": "a", "suffix": ["b", "c"]}, "exactly one suffix"),
        ("lm.gradient", {"prefix": "a", "suffix": "b"}, "does not support lm.gradient"),
        ("lm.generate_stream", {"text": "a"}, "is a streaming method"),
    ],
)
def test_invalid_requests_raise_value_error(greedy, method, request_, message):
    with pytest.raises(ValueError, match=message):
        greedy.call(method, request_)


def test_negative_temperature_is_rejected(sampler):
    with pytest.raises(ValueError, match="temperature"):
        sampler.call("lm.generate", {"text": "a", "extra_inputs": {"items": {"temperature": -1.0}}})


def test_build_rejects_unknown_keys_and_small_vocabularies():
    with pytest.raises(ValueError, match="unknown keys \\['modle'\\]"):
        build_lm_servable({"kind": "lm", "modle": MODEL}, "None", 0)
    small = {"kind": "lm", "architecture": {**MODEL, "vocabSize": 200}, "testMode": True}
    with pytest.raises(ValueError, match="vocabulary of 259"):
        build_lm_servable(small, "None", 0)


def test_checkpoint_none_needs_test_mode_or_random_weights_when_no_checkpoint():
    with pytest.raises(ValueError, match=r"Invalid checkpoint path None\. Must be a directory\."):
        build_lm_servable({"kind": "lm", "architecture": MODEL}, "None", 0)
    assert build_lm_servable({"kind": "lm", "architecture": MODEL, "testMode": True}, "/ignored", 0)


def test_build_with_a_missing_checkpoint_directory_fails(tmp_path):
    with pytest.raises(ValueError, match="Must be a directory"):
        build_lm_servable({"kind": "lm", "architecture": MODEL}, str(tmp_path / "checkpoint_00000000"), 0)


def test_methods_follow_the_template_flags(greedy):
    serving = LmServingConfig.from_dict({**GREEDY, "generateOnly": True, "enableGenerateStream": False})
    servable = LmServable(CFG, greedy.params, ByteTokenizer(), serving, jax.random.key(0))

    assert servable.methods == {"lm.generate"}
    assert servable.streaming_methods == frozenset()
    with pytest.raises(ValueError, match=r"does not support lm\.score"):
        servable.call("lm.score", {"prefix": "a", "suffix": ["b"]})


def test_gradient_scores_like_score_and_differentiates_the_input_embeddings():
    servable = build({**GREEDY, "enableGradient": True})
    prefix, suffix = "ab", "cd"
    result = servable.call("lm.gradient", {"prefix": prefix, "suffix": suffix})

    score = servable.call("lm.score", {"prefix": prefix, "suffix": [suffix]})["logp"][0]
    assert result["score"] == [pytest.approx(score, abs=1e-5)]
    assert result["gradients"]["total_loss"] == [pytest.approx(-score, abs=1e-5)]
    ids = [SOS, *text_ids(prefix + suffix)]
    grads = np.asarray(result["gradients"]["gradients/inputs/embeddings"]).reshape(len(ids), CFG.model_dims)

    # Central difference of the loss along one embedding coordinate of the first prefix token.
    def loss(delta):
        params = jax.tree_util.tree_map(np.array, servable.params)
        params["embedding"][ids[1], 3] += delta
        log_probs, _ = reference(jax.device_put(params), ids)
        return -sum(log_probs[i - 1, ids[i]] for i in range(1 + len(prefix), len(ids)))

    numeric = (loss(1e-2) - loss(-1e-2)) / 2e-2
    assert grads[1, 3] == pytest.approx(numeric, rel=2e-2, abs=1e-3)
    assert not np.any(grads[len(ids) - 1])  # the last suffix token feeds no scored prediction


def test_lm_cloud_servable_with_a_sentencepiece_vocabulary_answers():
    architecture = {
        "family": "lm_cloud",
        "numLayers": 2,
        "modelDims": 32,
        "hiddenDims": 64,
        "numHeads": 4,
        "dimsPerHead": 8,
        "vocabSize": 1000,
        "dtype": "float32",
    }
    config = {
        "kind": "lm",
        "architecture": architecture,
        "tokenizer": {"type": "sentencepiece", "path": "bundled:sax_test_1000.model", "sosId": 0, "eosId": 1},
        "serving": {"inputSeqLen": 16, "maxDecodeSteps": 4, "enableGenerateStream": True},
        "testMode": True,
    }
    servable = build_lm_servable(config, "None", 0)

    texts = servable.call("lm.generate", {"text": "the module"})["texts"]
    assert len(texts) == 2  # the template's NUM_SAMPLES
    assert [t["score"] for t in texts] == sorted((t["score"] for t in texts), reverse=True)
    chunks = list(servable.stream("lm.generate_stream", {"text": "the module"}))
    assert chunks[-1]["items"][0]["scores"] == [0.0]
    logp = servable.call("lm.score", {"prefix": "the", "suffix": [" module"]})["logp"][0]
    assert math.isfinite(logp)
    assert logp < 0
