"""Serving a Hugging Face LLaMA directory as it is: ``hf_checkpoint`` through ``lm_load.host_params``.

transformers' own ``save_pretrained`` writes tiny float32 ``LlamaForCausalLM`` models (one file, or
shards with an index). Both decoders must read them to exactly the weights they were saved from and to
HF's logits within 1e-4, and both servables must answer alike. Classes that do not fit, inputs that are
not LLaMA and directories that are not HF checkpoints fail with clear errors.
"""

import json
import re
import shutil
import sys

import jax
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from convert_sources import hf_reference_model
from llama_parity import arrays_and_params, jax_logits, padded_batch, torch_logits
from sax_worker.errors import WorkerError
from sax_worker.hf_interop import checkpoint_arrays, hf_model
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import flatten, init_params
from sax_worker.models.hf_checkpoint import is_hf_checkpoint
from sax_worker.models.lm_load import host_params, parse_lm_config, seed_keys
from sax_worker.models.lm_servable import build_lm_servable
from sax_worker.torch_models import build_torch_lm_servable
from tiny_models import GREEDY_SERVING, PARITY_ARCHITECTURES, SMALL_LLAMA

TOLERANCE = 1e-4
SEED = 7


def load(architecture, checkpoint):
    """``host_params`` as both builders call it, for a class of ``architecture``."""
    lm = parse_lm_config({"kind": "lm", "architecture": architecture}, str(checkpoint), "jax")
    return host_params(lm, str(checkpoint), seed_keys(SEED)[0])


@pytest.fixture(scope="module")
def small_hf_dir(tmp_path_factory):
    """``SMALL_LLAMA`` with seeded random weights, saved by transformers as one safetensors file."""
    cfg = DecoderConfig.from_dict(SMALL_LLAMA)
    path = tmp_path_factory.mktemp("hf")
    hf_model(cfg, checkpoint_arrays(cfg, init_params(cfg, jax.random.key(3)))).save_pretrained(path)
    return path


@pytest.fixture
def hf_copy(small_hf_dir, tmp_path):
    """A copy of ``small_hf_dir`` that a test may edit."""
    return shutil.copytree(small_hf_dir, tmp_path / "hf")


def edit_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, **changes}))


@pytest.mark.parametrize(("name", "sharded"), [("gqa", False), ("mha_combined_qkv", True)])
def test_both_decoders_read_a_saved_hf_model_to_its_weights_and_logits(name, sharded, tmp_path):
    cfg, arrays, params = arrays_and_params(name)
    hf_model(cfg, arrays).save_pretrained(tmp_path, max_shard_size="100KB" if sharded else "50GB")
    files = list(tmp_path.glob("*.safetensors"))

    loaded, read_bytes = load(PARITY_ARCHITECTURES[name], tmp_path)

    assert read_bytes == sum(file.stat().st_size for file in files)
    assert (len(files) > 1) == sharded == (tmp_path / "model.safetensors.index.json").exists()
    for key, value in flatten(params).items():
        np.testing.assert_array_equal(flatten(loaded)[key], value, err_msg=key)
    ids, valid = padded_batch(cfg, lengths=(24, 24))
    with torch.no_grad():
        theirs = hf_reference_model(tmp_path)(input_ids=torch.from_numpy(ids).long()).logits.numpy()
    np.testing.assert_allclose(jax_logits(cfg, loaded, ids, valid), theirs, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(torch_logits(cfg, loaded, ids, valid), theirs, rtol=0, atol=TOLERANCE)


def servable_config(framework):
    return {
        "kind": "lm",
        "framework": framework,
        "architecture": SMALL_LLAMA,
        "tokenizer": {"type": "bytes"},
        "serving": GREEDY_SERVING,
        "randomWeightsWhenNoCheckpoint": True,  # the checkpoint is not "None": it must not apply
    }


def test_both_backends_serve_the_hf_directory_alike(small_hf_dir):
    jax_servable = build_lm_servable(servable_config("jax"), str(small_hf_dir), SEED)
    torch_servable = build_torch_lm_servable(servable_config("torch"), str(small_hf_dir), SEED)
    pair = (jax_servable, torch_servable)

    assert all(servable.load_info["checkpoint_bytes"] > 0 for servable in pair)
    for text in ["Hello", "The quick brown fox"]:
        [ours], [theirs] = (servable.call("lm.generate", {"text": text})["texts"] for servable in pair)
        assert ours["text"] == theirs["text"]
    for request in [{"prefix": "The cat", "suffix": [" sat on"]}, {"prefix": "", "suffix": ["x"]}]:
        ours, theirs = (servable.call("lm.score", request)["logp"] for servable in pair)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE)


def test_a_class_of_other_dimensions_is_refused_naming_both_sides(small_hf_dir):
    expected = "config.json says num_hidden_layers 2 (the class has numLayers 4); the published model class"

    with pytest.raises(ValueError, match=re.escape(expected)):
        load({**SMALL_LLAMA, "numLayers": 4}, small_hf_dir)


def test_a_rope_base_other_than_the_class_s_is_refused(hf_copy):
    edit_config(hf_copy, rope_theta=500000.0)

    with pytest.raises(ValueError, match=re.escape("rope_theta 500000.0 (the class has ropeTheta 10000.0)")):
        load(SMALL_LLAMA, hf_copy)


def test_a_tensor_that_does_not_fit_the_class_is_refused_with_both_shapes(hf_copy):
    edit_config(hf_copy, intermediate_size=None)  # nothing in config.json to compare hiddenDims with

    tensor = f"layers.0.feed_forward.w1.weight in Hugging Face checkpoint {hf_copy}"
    with pytest.raises(ValueError, match=re.escape(tensor)) as err:
        load({**SMALL_LLAMA, "hiddenDims": 48}, hf_copy)

    assert "has shape [64, 32], but the model size needs [48, 32]; the published model class" in str(
        err.value
    )


def test_a_missing_tensor_is_named(hf_copy):
    [file] = hf_copy.glob("*.safetensors")
    tensors = load_file(file)
    del tensors["model.layers.1.mlp.up_proj.weight"]
    save_file(tensors, file, metadata={"format": "pt"})

    with pytest.raises(ValueError, match=r"holds model.layers.1.mlp.up_proj.weight \(Meta's layers.1"):
        load(SMALL_LLAMA, hf_copy)


def test_a_weight_that_is_not_finite_is_refused(hf_copy):
    [file] = hf_copy.glob("*.safetensors")
    tensors = load_file(file)
    tensors["model.norm.weight"][0] = float("inf")
    save_file(tensors, file, metadata={"format": "pt"})

    with pytest.raises(ValueError, match=r"lm.final_ln.scale has values float32 cannot hold"):
        load(SMALL_LLAMA, hf_copy)


def test_a_model_type_other_than_llama_is_refused(hf_copy):
    edit_config(hf_copy, model_type="mistral")

    with pytest.raises(ValueError, match=r"says model_type 'mistral'; only LLaMA checkpoints"):
        load(SMALL_LLAMA, hf_copy)


def test_a_class_of_another_family_is_refused(small_hf_dir):
    lm_cloud = {key: SMALL_LLAMA[key] for key in ("numLayers", "modelDims", "hiddenDims", "numHeads")}
    lm_cloud |= {"family": "lm_cloud", "dimsPerHead": 8, "vocabSize": 259, "dtype": "float32"}

    with pytest.raises(ValueError, match=r"only llama-family classes .* family is 'lm_cloud'"):
        load(lm_cloud, small_hf_dir)


def test_without_safetensors_files_the_directory_is_read_as_a_pax_step_directory(hf_copy):
    for file in hf_copy.glob("*.safetensors"):
        file.unlink()

    assert not is_hf_checkpoint(str(hf_copy))
    assert not is_hf_checkpoint("gs://bucket/llama")  # HF directories are read from local disk only
    with pytest.raises(ValueError, match=r"invalid checkpoint path .*: expected a step directory"):
        load(SMALL_LLAMA, hf_copy)


def test_a_worker_without_torch_refuses_the_directory_as_a_failed_precondition(small_hf_dir, monkeypatch):
    # A venv with only the serving pins (the Docker images): importing torch fails.
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "sax_worker.convert.mapping", raising=False)

    with pytest.raises(WorkerError, match=r"reading safetensors needs PyTorch") as err:
        load(SMALL_LLAMA, small_hf_dir)
    assert err.value.code == "FAILED_PRECONDITION"
