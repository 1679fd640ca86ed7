"""``sax_worker.convert``: Meta and Hugging Face LLaMA checkpoints to servable step directories (§5.5).

A tiny random LLaMA (``convert_sources``) is written in Meta's format (two model-parallel shards and
params.json) and in HF's (sharded safetensors), converted, and checked against the source weights, the
loader and Hugging Face's own generation. Interruption, resumption, --verify, errors and gs:// output
are covered here too; peak memory is ``test_convert_memory``'s subject.
"""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from convert_sources import LlamaDims, hf_reference_model, llama_weights, write_hf, write_meta
from hf_llama import hf_greedy
from sax_worker.convert.cli import main
from sax_worker.convert.converter import ConvertOptions, convert
from sax_worker.models.checkpoint import (
    COMMIT_MARKER,
    CheckpointDir,
    is_committed,
    load_params,
    read_array,
    write_array,
)
from sax_worker.models.decoder_params import checkpoint_shapes, flatten
from sax_worker.models.lm_servable import build_lm_servable

RUNTIME = Path(__file__).resolve().parents[1]
# L, D, F, N, K, H, V: grouped-query attention over the byte tokenizer's 259 ids.
DIMS = LlamaDims(2, 64, 160, 4, 2, 16, 259)
CFG = DIMS.decoder_config(use_mqa=True)
SOS, EOS, PAD = 256, 257, 258  # the byte tokenizer's specials


@pytest.fixture(scope="module")
def weights():
    return llama_weights(DIMS, seed=0)


@pytest.fixture(scope="module")
def meta_dir(tmp_path_factory, weights):
    return write_meta(tmp_path_factory.mktemp("meta"), DIMS, weights, shards=2)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory, weights):
    return write_hf(tmp_path_factory.mktemp("hf"), DIMS, weights, max_shard_size="100KB")


@pytest.fixture(scope="module")
def converted(tmp_path_factory, meta_dir):
    """The Meta checkpoint converted once, with --verify: the step directory."""
    return Path(run(meta_dir, tmp_path_factory.mktemp("out"), verify=True))


def run(base, pax, *, size="custom", log=None, **options):
    return convert(ConvertOptions(Path(base), str(pax), size, **options), log or io.StringIO())


def stored(step_dir):
    """Every stored array of a step directory, by §5.3 name."""
    state = CheckpointDir(str(step_dir)).child("state")
    return {name: read_array(state, name) for name in checkpoint_shapes(CFG)}


def assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype == np.float16, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def cli(*args):
    """Runs the command line in-process; returns its exit status (callers read its output with capsys)."""
    return main([str(arg) for arg in args])


def test_meta_conversion_is_the_mapping_of_spec_5_5(converted, weights):
    arrays = stored(converted)
    d, h = DIMS.model_dims, DIMS.dims_per_head

    def f16(name):
        return weights[name].to(torch.float16).numpy()

    layer, attention, ffn = "lm.transformer.x_layers_1", "layers.1.attention", "layers.1.feed_forward"
    expected = {
        "lm.embedding_lookup.emb_var": f16("tok_embeddings.weight"),
        "lm.softmax.logits_ffn.linear.w": f16("output.weight").T,
        "lm.final_ln.scale": f16("norm.weight"),
        f"{layer}.layer_norm.scale": f16("layers.1.attention_norm.weight"),
        f"{layer}.self_attention.query.w": f16(f"{attention}.wq.weight").T.reshape(d, -1, h),
        f"{layer}.self_attention.key.w": f16(f"{attention}.wk.weight").T.reshape(d, -1, h),
        f"{layer}.self_attention.value.w": f16(f"{attention}.wv.weight").T.reshape(d, -1, h),
        f"{layer}.self_attention.post.w": f16(f"{attention}.wo.weight").reshape(d, -1, h),
        f"{layer}.ff_layer.layer_norm.scale": f16("layers.1.ffn_norm.weight"),
        f"{layer}.ff_layer.ffn_layer1_gate.linear.w": f16(f"{ffn}.w1.weight").T,
        f"{layer}.ff_layer.ffn_layer1.linear.w": f16(f"{ffn}.w3.weight").T,
        f"{layer}.ff_layer.ffn_layer2.linear.w": f16(f"{ffn}.w2.weight").T,
    }
    for name, value in expected.items():
        np.testing.assert_array_equal(arrays[name], value, err_msg=name)
    assert is_committed(str(converted))


def test_hf_safetensors_convert_to_the_same_servable_weights_as_meta_shards(converted, hf_dir, tmp_path):
    from_hf = run(hf_dir, tmp_path, verify=True)

    assert_same_arrays(stored(from_hf), stored(converted))
    ours, _ = load_params(CFG, from_hf)
    theirs, _ = load_params(CFG, converted)
    for name, value in flatten(ours).items():
        np.testing.assert_array_equal(value, flatten(theirs)[name], err_msg=name)


def test_the_converted_checkpoint_generates_like_hugging_face_on_the_hf_files(converted, hf_dir):
    architecture = {"family": "llama", "numLayers": DIMS.num_layers, "modelDims": DIMS.model_dims}
    architecture |= {
        "hiddenDims": DIMS.hidden_dims,
        "numHeads": DIMS.num_heads,
        "numKvHeads": DIMS.num_kv_heads,
    }
    architecture |= {"dimsPerHead": DIMS.dims_per_head, "vocabSize": DIMS.vocab_size, "useMqa": True}
    serving = {"inputSeqLen": 16, "maxDecodeSteps": 12, "numSamples": 1, "topK": 1, "extraInputs": {}}
    config = {"kind": "lm", "architecture": {**architecture, "dtype": "float32"}, "serving": serving}
    servable = build_lm_servable({**config, "tokenizer": {"type": "bytes"}}, str(converted), 0)

    result = servable.call("lm.generate", {"text": "Hello"})["texts"][0]

    new, log_probs = hf_greedy(hf_reference_model(hf_dir), [SOS, *b"Hello"], 12, EOS, PAD)
    assert result["text"] == servable.tokenizer.decode(new)
    assert result["score"] == pytest.approx(sum(log_probs), abs=1e-4)


def test_combined_qkv_stacks_query_key_and_value(tmp_path):
    mha = LlamaDims(1, 64, 96, 4, 4, 16, 259)
    source = write_meta(tmp_path / "meta", mha, llama_weights(mha, seed=1), shards=2)

    combined = run(source, tmp_path / "combined")  # K == N: combined by default
    separate = run(source, tmp_path / "separate", combined_qkv=False)

    state, names = CheckpointDir(combined).child("state"), ("query", "key", "value")
    qkv = read_array(state, "lm.transformer.x_layers_0.self_attention.combined_qkv.w")
    for i, name in enumerate(names):
        part = read_array(
            CheckpointDir(separate).child("state"), f"lm.transformer.x_layers_0.self_attention.{name}.w"
        )
        np.testing.assert_array_equal(qkv[i], part)


def test_llama3_shards_split_the_vocabulary_and_padding_rows_are_dropped(tmp_path, weights):
    source = write_meta(tmp_path / "meta", DIMS, weights, shards=2, vocab_split=True)

    step = run(source, tmp_path / "out", dimensions={"vocab_size": 256})

    state = CheckpointDir(step).child("state")
    expected = weights["tok_embeddings.weight"][:256].to(torch.float16).numpy()
    np.testing.assert_array_equal(read_array(state, "lm.embedding_lookup.emb_var"), expected)
    softmax = weights["output.weight"][:256].to(torch.float16).numpy().T
    np.testing.assert_array_equal(read_array(state, "lm.softmax.logits_ffn.linear.w"), softmax)


def test_a_tied_hf_model_takes_its_output_projection_from_the_embedding(tmp_path, weights):
    tied = {**weights, "output.weight": weights["tok_embeddings.weight"]}
    source = write_hf(tmp_path / "hf", DIMS, tied, tied=True)

    state = CheckpointDir(run(source, tmp_path / "out")).child("state")

    emb = read_array(state, "lm.embedding_lookup.emb_var")
    np.testing.assert_array_equal(read_array(state, "lm.softmax.logits_ffn.linear.w"), emb.T)


KILL_AFTER_THREE_ARRAYS = """
import os, signal, sys
from sax_worker.convert import writer
from sax_worker.convert.cli import main

write = writer.StepWriter.write

def write_then_die(self, name, array):
    write(self, name, array)
    if len(self._done) == 3:
        os.kill(os.getpid(), signal.SIGKILL)

writer.StepWriter.write = write_then_die
sys.exit(main(sys.argv[1:]))
"""


def convert_in_subprocess(*args, script=None):
    command = ["-c", script] if script else ["-m", "sax_worker.convert"]
    return subprocess.run(
        [sys.executable, *command, *map(str, args)],
        cwd=RUNTIME,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_killed_conversion_is_not_committed_and_the_same_command_resumes(meta_dir, converted, tmp_path):
    args = ["--base", meta_dir, "--pax", tmp_path, "--model-size", "custom"]
    step = tmp_path / "checkpoint_00000000"

    killed = convert_in_subprocess(*args, script=KILL_AFTER_THREE_ARRAYS)

    assert killed.returncode == -9
    assert (step / "state").is_dir()
    assert not (step / COMMIT_MARKER).exists()
    with pytest.raises(ValueError, match=f"has no {COMMIT_MARKER}: it is incomplete"):
        load_params(CFG, step)

    resumed = convert_in_subprocess(*args)

    assert resumed.returncode == 0, resumed.stderr
    arrays = len(checkpoint_shapes(CFG))
    assert f"resuming: 3 of {arrays} arrays were written by an earlier run" in resumed.stderr
    assert resumed.stdout.strip() == str(step)
    assert_same_arrays(stored(step), stored(converted))


def test_a_partial_output_of_other_input_is_cleared_first(meta_dir, hf_dir, converted, tmp_path):
    run(hf_dir, tmp_path)
    step = tmp_path / "checkpoint_00000000"
    (step / COMMIT_MARKER).unlink()  # as if the HF conversion had been killed before its commit
    (step / "state" / "stray").write_text("left by the other run")

    log = io.StringIO()
    run(meta_dir, tmp_path, log=log)

    assert "resuming" not in log.getvalue()
    assert not (step / "state" / "stray").exists()
    assert_same_arrays(stored(step), stored(converted))


def test_verify_reports_an_array_that_differs_from_the_source(meta_dir, tmp_path, capsys):
    step = run(meta_dir, tmp_path)
    name = "lm.transformer.x_layers_1.ff_layer.ffn_layer2.linear.w"
    corrupted = read_array(CheckpointDir(step).child("state"), name).copy()
    corrupted[0, :3] += 1
    write_array(step, name, corrupted)

    status = cli("--base", meta_dir, "--pax", tmp_path, "--model-size", "custom", "--verify")

    err = capsys.readouterr().err
    assert status == 1
    assert f"convert_llama_ckpt: verify: {name} in {step} differs from the source in 3 of" in err
    assert "Traceback" not in err


def test_a_committed_output_is_refused_without_verify(converted, meta_dir, capsys):
    status = cli("--base", meta_dir, "--pax", converted.parent, "--model-size", "custom")

    assert status == 1
    assert f"{converted} already holds a committed checkpoint; delete it" in capsys.readouterr().err


BAD_INPUTS = {
    "no params.json": (
        lambda base: (base / "params.json").unlink(),
        [],
        "{base} has no params.json; Meta checkpoints ship it next to the consolidated.NN.pth shards",
    ),
    "a size that does not fit": (
        lambda base: None,
        ["--model-size", "7b"],
        "--model-size 7b does not match the checkpoint: {base}/params.json says num_layers 2 (the size has "
        "32), num_heads 4 (the size has 32), num_kv_heads 2 (the size has 32), dims_per_head 16 (the size "
        "has 128); try --model-size custom",
    ),
    "a shape that does not fit": (
        lambda base: None,
        ["--vocab-size", "300"],
        "tok_embeddings.weight in Meta checkpoint {base} (2 model-parallel shards) has shape [259, 64] "
        "(merged from 2 shards along axis 1), but the model size needs [300, 64]",
    ),
    "a missing shard": (
        lambda base: (base / "consolidated.01.pth").rename(base / "consolidated.02.pth"),
        [],
        "the shards in {base} are numbered [0, 2]; a Meta checkpoint has shards 0..1 (is one missing?)",
    ),
    "no checkpoint files": (
        lambda base: [file.unlink() for file in base.glob("*.pth")],
        [],
        "{base} holds no *.pth (Meta: consolidated.NN.pth and params.json) or *.safetensors",
    ),
}


@pytest.mark.parametrize(("prepare", "flags", "message"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_fails_with_one_clear_line(prepare, flags, message, weights, tmp_path, capsys):
    base = write_meta(tmp_path / "meta", DIMS, weights, shards=2)
    prepare(base)
    size = [] if "--model-size" in flags else ["--model-size", "custom"]

    status = cli("--base", base, "--pax", tmp_path / "out", *size, *flags)

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("convert_llama_ckpt: ")
    assert message.format(base=base) in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_step_directory_as_output_root_is_refused(meta_dir, tmp_path, capsys):
    status = cli("--base", meta_dir, "--pax", tmp_path / "checkpoint_00000000", "--model-size", "custom")

    assert status == 1
    assert "is already a step directory; pass its parent" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags",
    [
        ["--model-size", "3b"],
        ["--model-size", "custom", "--num-layers", "0"],
        ["--model-size", "custom", "--x"],
    ],
)
def test_usage_errors_exit_2(flags, meta_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli("--base", meta_dir, "--pax", tmp_path, *flags)

    assert exit_info.value.code == 2
    assert "usage: convert_llama_ckpt" in capsys.readouterr().err


def test_writes_to_gcs(fake_gcs, converted, meta_dir):
    step = run(meta_dir, "gs://sax-test/llama-tiny")

    assert step == "gs://sax-test/llama-tiny/checkpoint_00000000"
    assert is_committed(step)
    assert_same_arrays(stored(step), stored(converted))
