"""The serving mesh: which declared shape loads, how weights split, and that sharding keeps the answers."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jax
import pytest

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import variables
from sax_worker.models.lm_servable import build_lm_servable
from sax_worker.models.mesh import partition_spec, serving_mesh
from tiny_models import SMALL_LLAMA

CFG = DecoderConfig(
    num_layers=2,
    model_dims=32,
    hidden_dims=64,
    num_heads=4,
    num_kv_heads=2,
    dims_per_head=8,
    vocab_size=259,
    use_mqa=True,
    dtype="float32",
)
CONFIG = {
    "kind": "lm",
    "architecture": SMALL_LLAMA,
    "serving": {"inputSeqLen": 16, "maxDecodeSteps": 6, "numSamples": 1, "topK": 1, "extraInputs": {}},
    "randomWeightsWhenNoCheckpoint": True,
}
# Run in a child interpreter: the fake device count must be set before JAX starts.
CHILD = """
import json, sys
import jax
from sax_worker.models.lm_servable import build_lm_servable
config = json.loads(sys.argv[1])
servable = build_lm_servable(config, "None", 5)
layers = servable.params["layers"][0]
print(json.dumps({
    "devices": jax.device_count(),
    "up": list(layers["up"].sharding.spec),
    "k": list(layers["k"].sharding.spec),
    "down_devices": len(layers["down"].sharding.device_set),
    "generate": servable.call("lm.generate", {"text": "mesh"}),
    "score": servable.call("lm.score", {"prefix": "me", "suffix": ["sh"]}),
}))
"""


def test_the_first_shape_that_uses_every_device_wins():
    devices = jax.devices()[:1]
    assert serving_mesh([[1, 1, 4], [1, 1, 1]], devices).devices.shape == (1, 1, 1)
    with pytest.raises(
        ValueError, match=r"Unsupported mesh shape: none of \[\[1, 1, 4\]\] uses the 1 visible"
    ):
        serving_mesh([[1, 1, 4]], devices)
    with pytest.raises(ValueError, match="expected 3 positive sizes"):
        serving_mesh([[4]], devices)


def test_weights_split_over_the_model_axis_only_where_it_divides():
    mesh = SimpleNamespace(shape={"replica": 1, "data": 1, "mdl": 4})  # only the axis sizes are read
    specs = {var.path: partition_spec(CFG, var, mesh) for var in variables(CFG)}

    assert tuple(specs[("layers", "q")]) == (None, "mdl", None)  # each layer's [D, N=4, H]
    assert tuple(specs[("layers", "k")]) == (None, None, None)  # K=2 does not split 4 ways
    assert tuple(specs[("layers", "down")]) == ("mdl", None)  # [F, D]
    assert tuple(specs[("layers", "post")]) == ("mdl", None, None)  # stored [D, N, H], on devices [N, H, D]
    assert tuple(specs[("softmax",)]) == (None, None)  # V=259 does not split
    assert tuple(specs[("final_norm", "scale")]) == (None,)


def test_a_model_sharded_over_four_devices_answers_like_one_device():
    single = build_lm_servable(CONFIG, "None", 5)
    expected = {
        "generate": single.call("lm.generate", {"text": "mesh"}),
        "score": single.call("lm.score", {"prefix": "me", "suffix": ["sh"]}),
    }
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    sharded_config = {**CONFIG, "meshShapes": [[1, 1, 4]]}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(sharded_config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    got = json.loads(child.stdout)

    assert got["devices"] == 4
    assert got["up"] == [None, "mdl"]  # layer 0's [D, F]
    assert got["k"] == [None, None, None]
    assert got["down_devices"] == 4
    assert got["generate"]["texts"][0]["text"] == expected["generate"]["texts"][0]["text"]
    assert got["generate"]["texts"][0]["score"] == pytest.approx(
        expected["generate"]["texts"][0]["score"], abs=1e-4
    )
    assert got["score"]["logp"][0] == pytest.approx(expected["score"]["logp"][0], abs=1e-4)
