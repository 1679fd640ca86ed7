"""Fidelity of our plain-JAX LLaMA against Hugging Face ``LlamaForCausalLM`` (spec data-plane §5.3, §12).

Both models get the same random float32 weights, converted by ``sax_worker.hf_interop`` with the q/k row
permutation of HF's Meta -> HF conversion, and must agree on logits, greedy continuations (up to EOS) and
scores within 1e-4. Two control tests show the comparison is sensitive to the RoPE layout and to LLaMA-3.1
frequency scaling. That a saved and reloaded checkpoint answers bit-identically is covered by
``test_models_checkpoint``; here a checkpoint only carries EOS-biased weights into a servable.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="HF parity tests need torch")
pytest.importorskip("transformers", reason="HF parity tests need transformers")

from hf_llama import hf_greedy, params_from_arrays, save_checkpoint  # noqa: E402
from sax_worker.hf_interop import checkpoint_arrays, hf_model  # noqa: E402
from sax_worker.models import decoder  # noqa: E402
from sax_worker.models.decoder_config import DecoderConfig  # noqa: E402
from sax_worker.models.decoder_params import device_tree, init_params  # noqa: E402
from sax_worker.models.lm_servable import build_lm_servable  # noqa: E402
from tiny_models import PARITY_ARCHITECTURES  # noqa: E402

TOLERANCE = 1e-4
ARCHITECTURES = PARITY_ARCHITECTURES


@pytest.fixture(scope="module", autouse=True)
def _torch_on_cpu_in_float32():
    """HF builds and runs on the CPU in float32 without autograd, whatever accelerator the machine has."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    with torch.device("cpu"), torch.no_grad():
        yield
    torch.set_default_dtype(previous)


def config(name, **changes):
    return DecoderConfig.from_dict({**ARCHITECTURES[name], **changes})


def random_arrays(cfg, seed=0):
    """``init_params`` weights as §5.3 arrays, norm scales drawn around 1 so that each one's place matters."""
    arrays = checkpoint_arrays(cfg, init_params(cfg, jax.random.key(seed)))
    rng = np.random.default_rng(seed)
    for name, value in arrays.items():
        if name.endswith(".scale"):
            arrays[name] = (1 + 0.2 * rng.standard_normal(value.shape)).astype(np.float32)
    return arrays


def batch_ids(cfg, batch=3, length=32):
    return np.random.default_rng(1).integers(0, cfg.vocab_size, (batch, length), dtype=np.int32)


_forward = jax.jit(decoder.forward, static_argnums=1)


def our_logits(cfg, arrays, ids):
    """Float32 logits [B, T, V] of unpadded rows, positions 0..T-1."""
    b, t = ids.shape
    positions = jnp.broadcast_to(jnp.arange(t), (b, t))
    logits, _ = _forward(
        device_tree(cfg, params_from_arrays(cfg, arrays)),
        cfg,
        jnp.asarray(ids),
        positions,
        jnp.ones((b, t), bool),
    )
    return np.asarray(logits)


def hf_logits(model, ids):
    return model(input_ids=torch.from_numpy(ids).long()).logits.numpy()


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_logits_match_hugging_face(name):
    cfg = config(name)
    arrays, ids = random_arrays(cfg), batch_ids(cfg)

    ours, theirs = our_logits(cfg, arrays, ids), hf_logits(hf_model(cfg, arrays), ids)

    assert ours.std() > 0.5  # spread-out logits, so that agreement means something
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE)


def test_without_the_rope_permutation_hugging_face_disagrees():
    cfg = config("gqa")
    arrays, ids = random_arrays(cfg), batch_ids(cfg)

    ours, theirs = our_logits(cfg, arrays, ids), hf_logits(hf_model(cfg, arrays, permute_rope=False), ids)

    np.testing.assert_allclose(ours[:, 0], theirs[:, 0], rtol=0, atol=TOLERANCE)  # RoPE is identity at 0
    assert np.abs(ours - theirs).max() > 1e-2


def test_without_llama_3_1_scaling_our_logits_move_beyond_the_tolerance():
    cfg = config("gqa_llama3_1_rope")
    arrays, ids = random_arrays(cfg), batch_ids(cfg)

    unscaled = our_logits(config("gqa_llama3_1_rope", ropeScaling=None), arrays, ids)

    assert np.abs(unscaled - hf_logits(hf_model(cfg, arrays), ids)).max() > 10 * TOLERANCE


# Servables: the byte tokenizer (ids 0-255 are bytes; SOS 256, EOS 257, PAD 258).
SOS, EOS, PAD = 256, 257, 258
MAX_STEPS = 12
GREEDY = {"inputSeqLen": 16, "maxDecodeSteps": MAX_STEPS, "numSamples": 1, "topK": 1, "extraInputs": {}}


def build(name, checkpoint="None"):
    servable_config = {
        "kind": "lm",
        "architecture": {**ARCHITECTURES[name], "vocabSize": 259},  # every id a byte or a special
        "tokenizer": {"type": "bytes", "sosId": SOS, "eosId": EOS, "padId": PAD},
        "serving": GREEDY,
        "randomWeightsWhenNoCheckpoint": True,
    }
    return build_lm_servable(servable_config, checkpoint, 7)


@pytest.fixture(scope="module", params=["mha_combined_qkv", "gqa_llama3_1_rope"])
def served(request):
    """(architecture name, servable with seeded random weights, HF model over the same weights)."""
    servable = build(request.param)
    return request.param, servable, hf_model(servable.cfg, checkpoint_arrays(servable.cfg, servable.params))


def assert_generates_like(servable, model, text):
    """Same text (our decode of HF's ids) and same score: the sum of the generated tokens' log-probs."""
    result = servable.call("lm.generate", {"text": text})["texts"][0]

    new, log_probs = hf_greedy(model, [SOS, *text.encode()], MAX_STEPS, EOS, PAD)
    assert result["text"] == servable.tokenizer.decode(new)
    assert result["score"] == pytest.approx(sum(log_probs), abs=TOLERANCE)
    return new


@pytest.mark.parametrize("text", ["Hello", "The quick brown"])
def test_greedy_generation_matches_hugging_face(served, text):
    _, servable, model = served

    assert_generates_like(servable, model, text)


def test_greedy_generation_stops_at_eos_like_hugging_face(served, tmp_path):
    name, servable, model = served
    cfg, prompt = servable.cfg, [SOS, *b"Hello"]
    free_run, _ = hf_greedy(model, prompt, MAX_STEPS, EOS, PAD)
    arrays = checkpoint_arrays(cfg, servable.params)
    softmax = arrays["lm.softmax.logits_ffn.linear.w"]  # [D, V]
    # EOS's logit becomes 1.5x that of the token greedy picks at step 3 (a positive maximum), so decoding
    # ends with EOS at step 3 at the latest.
    softmax[:, EOS] = 1.5 * softmax[:, free_run[min(3, len(free_run) - 1)]]
    save_checkpoint(cfg, arrays, tmp_path / "checkpoint_00000000")

    new = assert_generates_like(
        build(name, str(tmp_path / "checkpoint_00000000")), hf_model(cfg, arrays), "Hello"
    )

    assert new[-1] == EOS
    assert len(new) <= 4


def test_score_equals_hugging_face_log_probs_of_the_suffix(served):
    _, servable, model = served
    prefix, suffix = b"The cat", b" sat on"

    logp = servable.call("lm.score", {"prefix": prefix.decode(), "suffix": [suffix.decode()]})["logp"][0]

    log_probs = torch.log_softmax(model(input_ids=torch.tensor([[SOS, *prefix, *suffix]])).logits[0], -1)
    expected = sum(log_probs[len(prefix) + j, t].item() for j, t in enumerate(suffix))
    assert logp == pytest.approx(expected, abs=TOLERANCE)
