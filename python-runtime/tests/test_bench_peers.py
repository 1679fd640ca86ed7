"""The peer-engine export of ``npm run bench -- --peers`` (``sax_worker.bench_peers``).

A one-layer LLaMA over the bench's 32k SentencePiece vocabulary with seeded random weights. transformers,
loading the exported directory on its own, must continue the exported prompt ids greedily exactly as our
servable continues the prompt text: that checks the weights, HF's RoPE layout and the prompt ids at once.
llama.cpp cannot run from Python, so its side is checked by reading the GGUF back with llama.cpp's own
gguf-py; that test needs the sources scripts/build-llama-server unpacks and is skipped without them.
"""

import json

import pytest
import sentencepiece as spm

pytest.importorskip("torch", reason="the export writes torch safetensors")
transformers = pytest.importorskip("transformers", reason="the fidelity test loads the export")

from hf_llama import hf_greedy  # noqa: E402
from sax_worker import bench_peers  # noqa: E402
from sax_worker.models.lm_servable import build_lm_servable  # noqa: E402
from sax_worker.models.sentencepiece_tokenizer import read_model_file  # noqa: E402

SEED, MAX_STEPS, INPUT_SEQ_LEN = 1234, 8, 16
SOS, EOS, PAD = 1, 2, 0
# Embedding and output [V, D]; q, k, v, o; gate, up, down; two norms per layer and the final one.
PARAMETERS = 2 * 32000 * 64 + 64 * (64 + 32 + 32 + 64) + 3 * 64 * 128 + 2 * 64 + 64
PROMPTS = ["The quick brown fox", "Q: What is 2 + 2? A:"]
# The bench model's resolve output (saxts.lm.BenchLlama45M), shrunk to one narrow layer.
CONFIG = {
    "kind": "lm",
    "framework": "jax",
    "architecture": {
        "family": "llama",
        "numLayers": 1,
        "modelDims": 64,
        "hiddenDims": 128,
        "numHeads": 4,
        "numKvHeads": 2,
        "dimsPerHead": 16,
        "vocabSize": 32000,
        "useMqa": True,
        "dtype": "float32",
    },
    "tokenizer": {"type": "sentencepiece", "path": "bundled:bench_32k.model", "sosId": SOS, "eosId": EOS},
    "serving": {
        "inputSeqLen": INPUT_SEQ_LEN,
        "bucketKeys": [INPUT_SEQ_LEN],
        "maxDecodeSteps": MAX_STEPS,
        "numSamples": 1,
        "topK": 1,
        "temperature": 0,
        "extraInputs": {},
    },
    "meshShapes": [[1, 1, 1]],
    "randomWeightsWhenNoCheckpoint": True,
}


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "hf"
    bench_peers.write_hf_checkpoint(CONFIG, SEED, path)
    return path


def test_transformers_continues_the_exported_ids_as_the_servable_continues_the_text(hf_dir):
    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir, attn_implementation="eager")
    servable = build_lm_servable(CONFIG, "None", SEED)

    for prompt, ids in zip(PROMPTS, bench_peers.encode_prompts(CONFIG, PROMPTS), strict=True):
        new, log_probs = hf_greedy(model, ids, MAX_STEPS, EOS, PAD)
        ours = servable.call("lm.generate", {"text": prompt})["texts"][0]
        assert ours["text"] == servable.tokenizer.decode(new)
        assert ours["score"] == pytest.approx(sum(log_probs), abs=1e-4)


def test_the_checkpoint_carries_the_vocabulary_and_its_special_pieces(hf_dir):
    config = json.loads((hf_dir / "config.json").read_text())
    tokenizer_config = json.loads((hf_dir / "tokenizer_config.json").read_text())

    assert (hf_dir / "tokenizer.model").read_bytes() == read_model_file("bundled:bench_32k.model")
    assert (config["architectures"], config["bos_token_id"], config["eos_token_id"]) == (
        ["LlamaForCausalLM"],
        SOS,
        EOS,
    )
    assert (tokenizer_config["bos_token"], tokenizer_config["eos_token"]) == ("<s>", "</s>")


def test_prompt_ids_are_sos_and_the_pieces_truncated_to_the_input_length():
    sp = spm.SentencePieceProcessor(model_proto=read_model_file("bundled:bench_32k.model"))
    long_prompt = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"

    ids = bench_peers.encode_prompts(CONFIG, [*PROMPTS, long_prompt])

    assert ids[:2] == [[SOS, *sp.encode(p)] for p in PROMPTS]
    assert ids[2] == [SOS, *sp.encode(long_prompt)[: INPUT_SEQ_LEN - 1]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tokenizer": {"type": "bytes"}}, "needs a SentencePiece tokenizer"),
        ({"randomWeightsWhenNoCheckpoint": False}, "must set randomWeightsWhenNoCheckpoint"),
    ],
)
def test_configs_llama_cpp_cannot_mirror_are_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        bench_peers.encode_prompts({**CONFIG, **change}, PROMPTS)


def test_the_cli_writes_a_gguf_that_llama_cpps_reader_lists_and_reuses_it(tmp_path, capsys, monkeypatch):
    llama_cpp = bench_peers.DEFAULT_LLAMA_CPP
    if not (llama_cpp / bench_peers.CONVERTER).is_file():
        pytest.skip(f"{llama_cpp} is absent; run scripts/build-llama-server (minutes) to enable")
    monkeypatch.syspath_prepend(str(llama_cpp / "gguf-py"))
    from gguf import GGUFReader

    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    (tmp_path / "prompts.json").write_text(json.dumps(PROMPTS))
    argv = ["export", "--config", str(tmp_path / "config.json"), "--prompts", str(tmp_path / "prompts.json")]
    argv += ["--seed", str(SEED), "--out", str(tmp_path / "out")]

    assert bench_peers.main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert bench_peers.main(argv) == 0
    second = json.loads(capsys.readouterr().out)

    reader = GGUFReader(first["gguf"])
    assert len(reader.fields["tokenizer.ggml.tokens"].data) == 32000
    assert {t.name for t in reader.tensors} == {
        *("token_embd.weight", "output_norm.weight", "output.weight"),
        *(f"blk.0.{n}.weight" for n in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output")),
        *(f"blk.0.{n}.weight" for n in ("ffn_norm", "ffn_gate", "ffn_up", "ffn_down")),
    }
    assert json.loads((tmp_path / "out" / "prompt_ids.json").read_text()) == bench_peers.encode_prompts(
        CONFIG, PROMPTS
    )
    assert (first["cached"], second["cached"]) == (False, True)
    assert (first["parameters"], first["weight_bytes"]) == (PARAMETERS, 4 * PARAMETERS)
    assert second["parameters"] == PARAMETERS
