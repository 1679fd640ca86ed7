"""Step-directory checkpoints: save/load round trips and clear errors (spec data-plane §5.1 to §5.3)."""

import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sax_worker.models.checkpoint import load_params, parse_step, save_params, step_dir_name
from sax_worker.models.llama_config import LlamaConfig
from sax_worker.models.llama_params import flatten_params, init_params
from sax_worker.models.lm_servable import build_llama_servable

MODEL = {
    "family": "llama",
    "numLayers": 1,
    "modelDims": 16,
    "hiddenDims": 32,
    "numHeads": 2,
    "numKvHeads": 1,
    "dimsPerHead": 8,
    "vocabSize": 259,
    "useMqa": True,
    "dtype": "float32",
}
SERVING = {"inputSeqLen": 8, "maxDecodeSteps": 4, "numSamples": 1, "topK": 1, "extraInputs": {}}
CFG = LlamaConfig.from_dict(MODEL)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A step directory holding the seed-3 random weights."""
    step_dir = tmp_path_factory.mktemp("ckpt") / step_dir_name(0)
    save_params(init_params(CFG, jax.random.key(3)), step_dir)
    return step_dir


def assert_same_params(a, b):
    flat_a, flat_b = flatten_params(a), flatten_params(b)
    assert flat_a.keys() == flat_b.keys()
    for name in flat_a:
        np.testing.assert_array_equal(np.asarray(flat_a[name]), np.asarray(flat_b[name]), err_msg=name)


def test_save_writes_the_pax_layout(saved):
    assert (saved / "commit_success.txt").is_file()
    assert (saved / "state" / "mdl_vars.params.lm.embedding_lookup.emb_var" / ".zarray").is_file()
    assert (saved / "state" / "mdl_vars.params.lm.transformer.x_layers_0.self_attention.key.w").is_dir()
    metadata = json.loads((saved / "metadata" / "metadata").read_text())
    assert metadata["train_state_metadata"]["mdl_vars.params.lm.final_ln.scale"]["shape"] == [16]


def test_save_then_load_round_trips_every_variable(saved):
    assert_same_params(load_params(CFG, saved), init_params(CFG, jax.random.key(3)))


def test_a_servable_from_a_saved_checkpoint_answers_like_the_original(tmp_path):
    config = {"kind": "lm", "architecture": MODEL, "serving": SERVING, "randomWeightsWhenNoCheckpoint": True}
    original = build_llama_servable(config, "None", 3)
    save_params(original.params, tmp_path / step_dir_name(0))
    loaded = build_llama_servable(config, str(tmp_path / step_dir_name(0)), 3)

    def answers(servable):
        generated = servable.call("lm.generate", {"text": "round trip"})
        return generated, servable.call("lm.score", {"prefix": "a", "suffix": ["b"]})

    assert answers(loaded) == answers(original)


def test_bfloat16_weights_round_trip(tmp_path):
    cfg = dataclasses.replace(CFG, dtype="bfloat16")
    params = init_params(cfg, jax.random.key(1))

    save_params(params, tmp_path / "checkpoint_00000007")

    loaded = load_params(cfg, tmp_path / "checkpoint_00000007")
    assert flatten_params(loaded)["lm.final_ln.scale"].dtype == jnp.bfloat16
    assert_same_params(loaded, params)


def test_float32_checkpoints_are_cast_to_the_config_dtype(saved):
    loaded = load_params(dataclasses.replace(CFG, dtype="bfloat16"), saved)
    assert flatten_params(loaded)["lm.softmax.logits_ffn.linear.w"].dtype == jnp.bfloat16


def test_legacy_checkpoints_with_arrays_in_the_step_directory_load(saved, tmp_path):
    legacy = tmp_path / "12"
    shutil.copytree(saved / "state", legacy)

    assert_same_params(load_params(CFG, legacy), load_params(CFG, saved))


def test_save_replaces_an_existing_step_directory(saved, tmp_path):
    target = tmp_path / step_dir_name(1)
    save_params(init_params(CFG, jax.random.key(0)), target)
    save_params(load_params(CFG, saved), target)

    assert_same_params(load_params(CFG, target), load_params(CFG, saved))
    assert sorted(p.name for p in tmp_path.iterdir()) == [step_dir_name(1)]  # no staging leftovers


def test_a_missing_directory_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="must be a directory"):
        load_params(CFG, tmp_path / "checkpoint_00000000")


def test_a_path_that_is_not_a_step_directory_is_a_value_error(saved):
    with pytest.raises(ValueError, match="expected a step directory"):
        load_params(CFG, saved.parent)


def test_a_missing_variable_is_named(saved, tmp_path):
    broken = tmp_path / step_dir_name(0)
    shutil.copytree(saved, broken)
    shutil.rmtree(broken / "state" / "mdl_vars.params.lm.final_ln.scale")

    with pytest.raises(ValueError, match=r"no array for lm\.final_ln\.scale"):
        load_params(CFG, broken)


def test_a_checkpoint_of_another_shape_is_a_value_error(saved):
    other = dataclasses.replace(CFG, hidden_dims=48)
    with pytest.raises(ValueError, match=r"wrong shapes lm\.transformer\.x_layers_0\.ff_layer"):
        load_params(other, saved)


def test_a_corrupt_array_is_a_value_error(saved, tmp_path):
    broken = tmp_path / step_dir_name(0)
    shutil.copytree(saved, broken)
    (broken / "state" / "mdl_vars.params.lm.final_ln.scale" / ".zarray").write_text("{not json")

    with pytest.raises(ValueError, match=r"lm\.final_ln\.scale .* is unreadable"):
        load_params(CFG, broken)


def test_step_names_parse_like_the_reference():
    assert parse_step("/ckpt/checkpoint_00100000") == 100000
    assert parse_step("/ckpt/42") == 42
    with pytest.raises(ValueError, match=r"e\.g\. /some/path/checkpoint_00100000"):
        parse_step("/ckpt/checkpoints")
