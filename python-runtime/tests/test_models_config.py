"""Parsing the architecture and serving parts of an LM servable config (camelCase, strict keys)."""

import pytest

from sax_worker.models.decoder_config import DecoderConfig, RopeScaling
from sax_worker.models.decoder_params import num_params
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
    cfg = DecoderConfig.from_dict(TINY_LLAMA)

    assert cfg == DecoderConfig(
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
    assert num_params(cfg) == 3_280_640


def test_from_dict_defaults_like_the_model_servers_schema():
    required = ("numLayers", "modelDims", "hiddenDims", "numHeads", "numKvHeads", "dimsPerHead", "vocabSize")
    cfg = DecoderConfig.from_dict({k: TINY_LLAMA[k] for k in required} | {"numKvHeads": 8})

    assert (cfg.rope_theta, cfg.norm_eps, cfg.dtype, cfg.rope_scaling) == (10000.0, 1e-5, "bfloat16", None)
    assert cfg.combined_qkv


def test_from_dict_reads_llama31_rope_scaling():
    cfg = DecoderConfig.from_dict({**TINY_LLAMA, "ropeScaling": {"factor": 8, "originalMaxPositions": 8192}})
    assert cfg.rope_scaling == RopeScaling(factor=8.0, original_max_positions=8192)


def test_flash_decoding_with_mqa_fails_like_the_reference():
    with pytest.raises(RuntimeError, match=r"Flash decoding is deprecated\."):
        DecoderConfig.from_dict({**TINY_LLAMA, "gpuFlashDecoding": True})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"numLayer": 4}, r"unknown keys \['numLayer'\]"),
        ({"family": "gemma"}, r"family must be one of \('llama', 'lm_cloud'\)"),
        ({"tiedEmbeddings": True}, "tiedEmbeddings True is not supported for family 'llama'"),
        ({"numKvHeads": 3}, "multiple of num_kv_heads"),
        ({"useMqa": False}, "combined QKV weight"),
        ({"quantization": {"mode": "int8", "linearOnly": True}}, r"not supported \(only mode none\)"),
        ({"dimsPerHead": 7}, "must be even"),
        ({"dtype": "float16"}, "dtype must be one of"),
        ({"modelDims": 0}, "model_dims must be a positive integer"),
        ({"ropeTheta": "big"}, "ropeTheta must be a number"),
    ],
)
def test_from_dict_rejects_invalid_architectures(change, message):
    with pytest.raises(ValueError, match=message):
        DecoderConfig.from_dict({**TINY_LLAMA, **change})


# LmCloudSpmd2B's architecture as the registry resolves it, shrunk.
SMALL_LM_CLOUD = {
    "family": "lm_cloud",
    "numLayers": 3,
    "modelDims": 128,
    "hiddenDims": 512,
    "numHeads": 4,
    "dimsPerHead": 32,
    "vocabSize": 1000,
    "normEps": 1e-6,
    "attentionLogitSoftCap": 50,
    "outputLogitSoftCap": 30,
    "perDimScale": True,
    "activation": "gelu_tanh",
    "tiedEmbeddings": True,
    "positionEmbedding": "sinusoidal",
    "repeatedLayers": True,
    "dtype": "float32",
    "quantization": {"mode": "none"},
}


def test_lm_cloud_configs_turn_on_the_gpt_style_features():
    cfg = DecoderConfig.from_dict(SMALL_LM_CLOUD)

    assert (cfg.family, cfg.num_kv_heads, cfg.combined_qkv) == ("lm_cloud", 4, True)
    assert (cfg.attention_logit_cap, cfg.output_logit_cap, cfg.norm_eps) == (50.0, 30.0, 1e-6)
    features = (cfg.layer_norm, cfg.tied_embeddings, cfg.per_dim_scale, cfg.stacked_checkpoint)
    assert features == (True, True, True, True)
    assert (cfg.rotary, cfg.gated_ffn) == (False, False)
    # Tied: no separate embedding table; LayerNorm biases and FFN biases count.
    d, f, v, layers = 128, 512, 1000, 3
    per_layer = 2 * 2 * d + 3 * d * d + 32 + d * d + d * f + f + f * d + d
    assert num_params(cfg) == d * v + 2 * d + layers * per_layer


def test_lm_cloud_defaults_are_paxmls():
    minimal = {k: SMALL_LM_CLOUD[k] for k in ("family", "numLayers", "modelDims", "hiddenDims", "numHeads")}
    cfg = DecoderConfig.from_dict(minimal | {"dimsPerHead": 32, "vocabSize": 1000})
    assert (cfg.attention_logit_cap, cfg.output_logit_cap, cfg.norm_eps, cfg.dtype) == (
        50.0,
        30.0,
        1e-6,
        "bfloat16",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"numKvHeads": 4}, r"unknown keys \['numKvHeads'\]"),
        ({"perDimScale": False}, "perDimScale False is not supported for family 'lm_cloud'"),
        ({"tiedEmbeddings": False}, "tiedEmbeddings False is not supported"),
        ({"activation": "relu"}, "activation 'relu' is not supported"),
        ({"quantization": {"mode": "int8", "linearOnly": False}}, "only mode none"),
    ],
)
def test_lm_cloud_rejects_what_it_cannot_build(change, message):
    with pytest.raises(ValueError, match=message):
        DecoderConfig.from_dict({**SMALL_LM_CLOUD, **change})


def test_from_dict_names_missing_keys():
    config = {k: v for k, v in TINY_LLAMA.items() if k != "vocabSize"}
    with pytest.raises(ValueError, match="missing required keys \\['vocabSize'\\]"):
        DecoderConfig.from_dict(config)


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
        ({"enableGradient": True}, {"lm.generate", "lm.score", "lm.gradient"}),
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
        ({"scoreExtraInputs": {"x": 1.0}}, "scoreExtraInputs are not supported yet"),
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
