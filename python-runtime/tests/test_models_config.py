"""Parsing the architecture and serving parts of a LLaMA servable config (camelCase, strict keys)."""

import pytest

from sax_worker.models.llama_config import LlamaConfig, RopeScaling
from sax_worker.models.lm_serving_config import LmServingConfig

# saxts.lm.TinyLlama as the model server resolves it: GQA 8:4 like LLaMA-3, byte vocabulary, ~3.3M parameters.
TINY_LLAMA = {
    "family": "llama",
    "numLayers": 4,
    "modelDims": 256,
    "hiddenDims": 768,
    "numHeads": 8,
    "numKvHeads": 4,
    "dimsPerHead": 32,
    "vocabSize": 259,
    "useMqa": True,
    "ropeTheta": 10000.0,
    "ropeScaling": None,
    "normEps": 1e-5,
    "dtype": "float32",
    "tiedEmbeddings": False,
    "quantization": {"mode": "none"},
    "gpuFlashDecoding": False,
}


def test_from_dict_reads_every_wire_key():
    cfg = LlamaConfig.from_dict(TINY_LLAMA)

    assert cfg == LlamaConfig(
        num_layers=4,
        model_dims=256,
        hidden_dims=768,
        num_heads=8,
        num_kv_heads=4,
        dims_per_head=32,
        vocab_size=259,
        use_mqa=True,
        rope_theta=10000.0,
        norm_eps=1e-5,
        dtype="float32",
    )
    assert cfg.queries_per_kv_head == 2
    assert not cfg.combined_qkv
    assert cfg.num_params == 3_280_640


def test_from_dict_defaults_like_the_model_servers_schema():
    required = ("numLayers", "modelDims", "hiddenDims", "numHeads", "numKvHeads", "dimsPerHead", "vocabSize")
    cfg = LlamaConfig.from_dict({k: TINY_LLAMA[k] for k in required} | {"numKvHeads": 8})

    assert (cfg.rope_theta, cfg.norm_eps, cfg.dtype, cfg.rope_scaling) == (10000.0, 1e-5, "bfloat16", None)
    assert cfg.combined_qkv


def test_from_dict_reads_llama31_rope_scaling():
    cfg = LlamaConfig.from_dict({**TINY_LLAMA, "ropeScaling": {"factor": 8, "originalMaxPositions": 8192}})
    assert cfg.rope_scaling == RopeScaling(factor=8.0, original_max_positions=8192)


def test_flash_decoding_with_mqa_fails_like_the_reference():
    with pytest.raises(RuntimeError, match=r"Flash decoding is deprecated\."):
        LlamaConfig.from_dict({**TINY_LLAMA, "gpuFlashDecoding": True})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"numLayer": 4}, r"unknown keys \['numLayer'\]"),
        ({"family": "gemma"}, "family must be 'llama'"),
        ({"tiedEmbeddings": True}, "tiedEmbeddings must be false"),
        ({"numKvHeads": 3}, "multiple of num_kv_heads"),
        ({"useMqa": False}, "combined QKV weight"),
        ({"quantization": {"mode": "int8", "linearOnly": True}}, "not supported yet"),
        ({"dimsPerHead": 7}, "must be even"),
        ({"dtype": "float16"}, "dtype must be one of"),
        ({"modelDims": 0}, "model_dims must be a positive integer"),
        ({"ropeTheta": "big"}, "ropeTheta must be a number"),
    ],
)
def test_from_dict_rejects_invalid_architectures(change, message):
    with pytest.raises(ValueError, match=message):
        LlamaConfig.from_dict({**TINY_LLAMA, **change})


def test_from_dict_names_missing_keys():
    config = {k: v for k, v in TINY_LLAMA.items() if k != "vocabSize"}
    with pytest.raises(ValueError, match="missing required keys \\['vocabSize'\\]"):
        LlamaConfig.from_dict(config)


def test_serving_config_reads_knobs_and_derives_buckets():
    serving = LmServingConfig.from_dict(
        {
            "batchSize": 4,  # the worker core's knob: accepted, not used here
            "inputSeqLen": 64,
            "bucketKeys": [32, 8],
            "maxDecodeSteps": [16, 48],
            "numSamples": 1,
            "topK": 1,
            "streamIntervalSteps": 4,
            "extraInputs": {"temperature": 0.5, "per_example_top_p": None},
            "stopTokenIds": [257, 10],
        }
    )

    assert serving.buckets == (8, 32, 64)
    assert serving.bucket_for(9) == 32
    assert serving.max_decode_steps == 48
    assert serving.greedy
    assert not serving.honours_request_knobs
    assert serving.stop_token_ids == (257, 10)
    assert serving.extra_input_defaults()["temperature"] == 0.5
    assert serving.score_buckets[-1] == 128


def test_serving_config_defaults_are_the_lm_templates():
    serving = LmServingConfig.from_dict({})
    assert (serving.input_seq_len, serving.max_decode_steps, serving.num_samples, serving.top_k) == (
        256,
        32,
        2,
        40,
    )
    assert dict(serving.extra_inputs) == {"temperature": 0.1}
    assert serving.methods == {"lm.generate", "lm.score"}


@pytest.mark.parametrize(
    ("flags", "methods"),
    [
        ({"enableGenerateStream": True}, {"lm.generate", "lm.generate_stream", "lm.score"}),
        ({"generateOnly": True, "embed": {"modelMethodName": "embed", "outputEmbeddingName": "embedding"}},
         {"lm.generate"}),
        ({"scoreOnly": True, "enableGenerateStream": True}, {"lm.score"}),
        ({"enableScore": False, "embed": {"modelMethodName": "embed", "outputEmbeddingName": "embedding"}},
         {"lm.generate", "lm.embed"}),
    ],
)  # fmt: skip
def test_methods_follow_the_template_rules(flags, methods):
    assert LmServingConfig.from_dict(flags).methods == methods


def test_continuous_batching_decodes_greedily_but_honours_max_steps():
    serving = LmServingConfig.from_dict({"numCacheSlots": 16, "numSamples": 1, "topK": 40})
    assert serving.greedy
    assert serving.honours_request_knobs


def test_max_seq_len_caps_the_steps_after_a_bucket():
    serving = LmServingConfig.from_dict({"inputSeqLen": 16, "maxDecodeSteps": 32, "maxSeqLen": 40})
    assert (serving.max_steps_for(16), serving.max_steps_for(4)) == (24, 32)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"batchSizes": 4}, r"unknown keys \['batchSizes'\]"),
        ({"extraInputs": {"foo": 1.0}}, "extra input 'foo' is not supported"),
        ({"inputSeqLen": 8, "bucketKeys": [16]}, "exceeds input_seq_len"),
        ({"useBeamSearch": True}, "useBeamSearch = True is not supported yet"),
        ({"tokenizedInput": True}, "tokenizedInput = True is not supported yet"),
        ({"embed": {"modelMethodName": "encode", "outputEmbeddingName": "x"}}, "must name method 'embed'"),
        ({"numSamples": 0}, "num_samples must be an integer >= 1"),
    ],
)
def test_serving_config_rejects_invalid_or_unsupported_knobs(config, message):
    with pytest.raises(ValueError, match=message):
        LmServingConfig.from_dict(config)


def test_a_prompt_longer_than_every_bucket_is_rejected():
    with pytest.raises(ValueError, match="larger than maximum 16"):
        LmServingConfig(input_seq_len=16).bucket_for(17)
