"""The in-process and transformers baselines of ``npm run bench`` (``sax_worker.bench_baselines``).

A one-layer byte-tokenizer LLaMA with seeded random weights; each timed run lasts 0.1 s. The counts must
be exact (every request yields ``max_new_tokens`` tokens) and both baselines must generate the same greedy
tokens, which also shows that the jax baseline's requests run past EOS to the full length.
"""

import json

import pytest

torch = pytest.importorskip("torch", reason="the hf baseline needs torch")
pytest.importorskip("transformers", reason="the hf baseline needs transformers")

from sax_worker import bench_baselines  # noqa: E402
from sax_worker.models.lm_servable import build_lm_servable  # noqa: E402

SEED, NEW_TOKENS = 1234, 4
PROMPTS = ["Hello", "The quick brown fox"]
# Shaped like the registry's resolve output, shrunk. maxDecodeSteps differs from NEW_TOKENS on purpose.
CONFIG = {
    "kind": "lm",
    "framework": "jax",
    "architecture": {
        "family": "llama",
        "numLayers": 1,
        "modelDims": 32,
        "hiddenDims": 64,
        "numHeads": 2,
        "numKvHeads": 2,
        "dimsPerHead": 16,
        "vocabSize": 259,
        "dtype": "float32",
    },
    "tokenizer": {"type": "bytes", "sosId": 256, "eosId": 257, "padId": 258},
    "serving": {
        "inputSeqLen": 32,
        "maxDecodeSteps": 8,
        "numSamples": 1,
        "topK": 1,
        "temperature": 0,
        "extraInputs": {"temperature": 0, "per_example_max_decode_steps": 8},
    },
    "meshShapes": [[1, 1, 1]],
    "randomWeightsWhenNoCheckpoint": True,
}
LM_CLOUD = {
    "family": "lm_cloud",
    "numLayers": 1,
    "modelDims": 32,
    "hiddenDims": 64,
    "numHeads": 2,
    "dimsPerHead": 16,
    "vocabSize": 259,
    "normEps": 1e-6,
    "attentionLogitSoftCap": 50,
    "outputLogitSoftCap": 30,
    "dtype": "float32",
}
FIELDS = {"mode", "batch", "tokens_per_s", "requests", "tokens", "elapsed_s", "per_token_ms", "load_s"}


def run(mode, batch=1):
    return bench_baselines.run(
        CONFIG, PROMPTS, mode=mode, max_new_tokens=NEW_TOKENS, seed=SEED, batch=batch, duration_s=0.1
    )


def assert_sane(result, mode, batch):
    assert set(result) >= FIELDS
    assert (result["mode"], result["batch"], result["max_new_tokens"]) == (mode, batch, NEW_TOKENS)
    assert result["requests"] >= len(PROMPTS)
    assert result["tokens"] == result["requests"] * NEW_TOKENS
    assert result["tokens_per_s"] > 0
    assert result["per_token_ms"] == pytest.approx(1e3 * result["elapsed_s"] / result["tokens"], rel=1e-2)
    assert result["load_s"] > 0
    assert result["counting"]


def test_the_cli_prints_the_jax_baseline_as_one_json_object(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    (tmp_path / "prompts.json").write_text(json.dumps(PROMPTS))

    code = bench_baselines.main(
        [
            *("--config", str(tmp_path / "config.json"), "--prompts", str(tmp_path / "prompts.json")),
            *("--max-new-tokens", str(NEW_TOKENS), "--mode", "jax", "--seed", str(SEED)),
            *("--duration-s", "0.1"),
        ]
    )

    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert_sane(result, "jax", 1)
    assert result["servable_overrides"] == {"maxDecodeSteps": NEW_TOKENS, "stopTokenIds": [259]}


@pytest.mark.parametrize("batch", [1, 2])
def test_the_hf_baseline_counts_max_new_tokens_per_prompt(batch):
    result = run("hf", batch)

    assert_sane(result, "hf", batch)
    assert result["requests"] % batch == 0
    assert result["threads"] >= 1


def test_the_hf_baseline_rejects_families_without_a_transformers_twin():
    config = {**CONFIG, "architecture": LM_CLOUD}

    with pytest.raises(ValueError, match="needs a llama-family config, got family 'lm_cloud'"):
        bench_baselines.run(config, PROMPTS, mode="hf", max_new_tokens=NEW_TOKENS, duration_s=0)


def test_both_baselines_generate_the_same_full_length_greedy_tokens():
    servable = build_lm_servable(bench_baselines.jax_baseline_config(CONFIG, NEW_TOKENS), "None", SEED)
    model = bench_baselines.hf_baseline_model(servable, NEW_TOKENS)
    tok = servable.tokenizer
    prompts_ids = [tok.encode(p, 32) for p in PROMPTS]

    new = bench_baselines.hf_generate(model, prompts_ids, NEW_TOKENS, tok.pad_id).tolist()  # left-padded

    for prompt, ids, row in zip(PROMPTS, prompts_ids, new, strict=True):
        request = bench_baselines.generate_request(servable, prompt, NEW_TOKENS)
        ours = servable.call("lm.generate", request)["texts"][0]
        assert len(row) == NEW_TOKENS
        assert ours["text"] == tok.decode(row)
        # Our score sums the log-probs of the tokens we generated: equal to HF's over all N tokens only
        # if we generated all N.
        log_probs = torch.log_softmax(model(input_ids=torch.tensor([ids + row])).logits[0], -1)
        expected = sum(log_probs[len(ids) - 1 + j, t].item() for j, t in enumerate(row))
        assert ours["score"] == pytest.approx(expected, abs=1e-4)


def test_the_jax_baseline_drops_cache_slots_for_one_greedy_sample_per_request():
    config = {**CONFIG, "serving": {**CONFIG["serving"], "numCacheSlots": 4, "numSamples": 2, "topK": 40}}

    serving = bench_baselines.jax_baseline_config(config, NEW_TOKENS)["serving"]

    assert (serving["numCacheSlots"], serving["numSamples"], serving["topK"]) == (0, 1, 1)
    assert (serving["maxDecodeSteps"], serving["stopTokenIds"]) == (NEW_TOKENS, [259])
