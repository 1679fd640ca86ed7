"""Step-directory checkpoints: save/load round trips and clear errors (spec data-plane §5.1 to §5.3)."""

import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sax_worker.models.checkpoint import (
    COMMIT_MARKER,
    is_committed,
    load_params,
    parse_step,
    save_params,
    step_dir_name,
    write_array,
)
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import device_tree, flatten, init_params, to_checkpoint
from sax_worker.models.lm_servable import build_lm_servable
from tiny_models import TINY_LLAMA

SERVING = {"inputSeqLen": 8, "maxDecodeSteps": 4, "numSamples": 1, "topK": 1, "extraInputs": {}}
CFG = DecoderConfig.from_dict(TINY_LLAMA)
LM_CLOUD = DecoderConfig(
    family="lm_cloud",
    num_layers=2,
    model_dims=16,
    hidden_dims=32,
    num_heads=2,
    num_kv_heads=2,
    dims_per_head=8,
    vocab_size=50,
    attention_logit_cap=50.0,
    output_logit_cap=30.0,
    dtype="float32",
)


def load(cfg, step_dir):
    params, _ = load_params(cfg, step_dir)
    return params


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A step directory holding the seed-3 random weights."""
    step_dir = tmp_path_factory.mktemp("ckpt") / step_dir_name(0)
    save_params(CFG, init_params(CFG, jax.random.key(3)), step_dir)
    return step_dir


def assert_same_params(a, b):
    flat_a, flat_b = flatten(a), flatten(b)
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
    params, stats = load_params(CFG, saved)
    assert_same_params(params, init_params(CFG, jax.random.key(3)))
    assert stats.arrays == len(list(saved.glob("state/mdl_vars.*")))
    assert stats.bytes == sum(np.asarray(x).nbytes for x in flatten(params).values())


def test_lm_cloud_checkpoints_hold_the_layers_stacked(tmp_path):
    params = init_params(LM_CLOUD, jax.random.key(5))
    save_params(LM_CLOUD, params, tmp_path / step_dir_name(0))

    state = tmp_path / step_dir_name(0) / "state"
    stacked = state / "mdl_vars.params.lm.transformer.repeat.sub.x_layers_0.ff_layer.ffn_layer1.bias.b"
    assert json.loads((stacked / ".zarray").read_text())["shape"] == [2, 32]
    assert (state / "mdl_vars.params.lm.transformer.repeat.sub.x_layers_0.layer_norm.bias").is_dir()
    assert (
        state
        / "mdl_vars.params.lm.transformer.repeat.sub.x_layers_0.self_attention.per_dim_scale.per_dim_scale"
    ).is_dir()
    assert not (state / "mdl_vars.params.lm.embedding_lookup.emb_var").exists()  # tied to the softmax
    assert_same_params(load(LM_CLOUD, tmp_path / step_dir_name(0)), params)


def test_progress_is_reported_per_array(saved):
    seen = []
    load_params(CFG, saved, progress=lambda done, total, nbytes: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] == len(seen)


def test_a_servable_from_a_saved_checkpoint_answers_like_the_original(tmp_path):
    config = {
        "kind": "lm",
        "architecture": TINY_LLAMA,
        "serving": SERVING,
        "randomWeightsWhenNoCheckpoint": True,
    }
    original = build_lm_servable(config, "None", 3)
    save_params(original.cfg, original.params, tmp_path / step_dir_name(0))
    loaded = build_lm_servable(config, str(tmp_path / step_dir_name(0)), 3)

    def answers(servable):
        generated = servable.call("lm.generate", {"text": "round trip"})
        return generated, servable.call("lm.score", {"prefix": "a", "suffix": ["b"]})

    assert answers(loaded) == answers(original)


@pytest.mark.parametrize("cfg", [CFG, LM_CLOUD], ids=["per-layer", "stacked"])
def test_a_device_tree_saves_as_its_serving_tree(cfg):
    """The device tree holds post as [N, H, D] and each layer apart; a checkpoint of it is Saxml's layout."""
    params = init_params(cfg, jax.random.key(4))
    device = device_tree(cfg, params)
    assert device["layers"][0]["post"].shape == (cfg.num_heads, cfg.dims_per_head, cfg.model_dims)

    expected, got = to_checkpoint(cfg, params), to_checkpoint(cfg, device)
    assert got.keys() == expected.keys()
    for name, array in expected.items():
        np.testing.assert_array_equal(got[name], array, err_msg=name)


def test_bfloat16_weights_round_trip(tmp_path):
    cfg = dataclasses.replace(CFG, dtype="bfloat16")
    params = init_params(cfg, jax.random.key(1))

    save_params(cfg, params, tmp_path / "checkpoint_00000007")

    loaded = load(cfg, tmp_path / "checkpoint_00000007")
    assert loaded["final_norm"]["scale"].dtype == jnp.bfloat16
    assert_same_params(loaded, params)


def test_float32_checkpoints_are_cast_to_the_config_dtype(saved):
    loaded = load(dataclasses.replace(CFG, dtype="bfloat16"), saved)
    assert loaded["softmax"].dtype == jnp.bfloat16


def test_legacy_checkpoints_with_arrays_in_the_step_directory_load(saved, tmp_path):
    legacy = tmp_path / "12"
    shutil.copytree(saved / "state", legacy)
    shutil.copy(saved / COMMIT_MARKER, legacy)

    assert_same_params(load(CFG, legacy), load(CFG, saved))


def test_an_uncommitted_step_directory_does_not_load(saved, tmp_path):
    partial = tmp_path / step_dir_name(0)
    shutil.copytree(saved, partial)
    (partial / COMMIT_MARKER).unlink()

    assert not is_committed(str(partial))
    with pytest.raises(ValueError, match=r"has no commit_success\.txt: it is incomplete"):
        load_params(CFG, partial)


def test_save_completes_a_partial_directory_but_never_overwrites_a_committed_one(saved, tmp_path):
    target = tmp_path / step_dir_name(1)
    write_array(
        str(target), "lm.final_ln.scale", np.full((16,), 7.0, np.float32)
    )  # a crashed writer's leftovers
    save_params(CFG, load(CFG, saved), target)

    assert_same_params(load(CFG, target), load(CFG, saved))
    with pytest.raises(ValueError, match="already committed"):
        save_params(CFG, init_params(CFG, jax.random.key(0)), target)


def test_a_missing_directory_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="Must be a directory"):
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
    with pytest.raises(ValueError, match=r"variable lm\.transformer\.x_layers_0\.ff_layer\.\S+ has shape"):
        load_params(other, saved)


def test_a_corrupt_array_is_a_value_error(saved, tmp_path):
    broken = tmp_path / step_dir_name(0)
    shutil.copytree(saved, broken)
    (broken / "state" / "mdl_vars.params.lm.final_ln.scale" / ".zarray").write_text("{not json")

    with pytest.raises(ValueError, match=r"lm\.final_ln\.scale under .* is unreadable"):
        load_params(CFG, broken)


def test_step_names_parse_like_the_reference():
    assert parse_step("/ckpt/checkpoint_00100000") == 100000
    assert parse_step("/ckpt/42") == 42
    with pytest.raises(ValueError, match=r"e\.g\. /some/path/checkpoint_00100000"):
        parse_step("/ckpt/checkpoints")


def test_a_gs_checkpoint_round_trips_and_is_only_loadable_once_committed(fake_gcs):
    params = init_params(CFG, jax.random.key(4))
    url = f"gs://sax-test/ckpt/{step_dir_name(3)}"
    write_array(url, "lm.final_ln.scale", np.ones(16, np.float32))  # a partial upload, no marker
    with pytest.raises(ValueError, match="it is incomplete"):
        load_params(CFG, url)

    save_params(CFG, params, url)

    assert is_committed(url)
    loaded, stats = load_params(CFG, url)
    assert_same_params(loaded, params)
    assert stats.bytes > 0
    with pytest.raises(ValueError, match=r"Invalid checkpoint path gs://sax-test/ckpt/checkpoint_00000009\."):
        load_params(CFG, "gs://sax-test/ckpt/checkpoint_00000009")
