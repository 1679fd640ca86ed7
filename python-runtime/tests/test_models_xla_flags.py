"""XLA flags a bf16 model needs on CPU and the memory they save in a real compiled decode loop; and the
in-place KV-cache update, which needs no flag."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sax_worker.models import xla_flags
from sax_worker.models.decoder_config import DecoderConfig

BF16 = DecoderConfig(
    num_layers=2, model_dims=32, hidden_dims=64, num_heads=4, num_kv_heads=4, dims_per_head=8, vocab_size=64
)
F32 = DecoderConfig(**{**BF16.__dict__, "dtype": "float32"})
# A child builds a bf16 model of 8 x 16 MiB layers and reports how much its decode program allocates
# beyond its arguments (XLA's own memory analysis of the compiled program).
CHILD = """
import json, sys
import numpy as np
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models import xla_flags
cfg = DecoderConfig(num_layers=8, model_dims=1024, hidden_dims=2048, num_heads=8, num_kv_heads=8,
                    dims_per_head=128, vocab_size=256, dtype="bfloat16")
if sys.argv[1] == "configured":
    xla_flags.configure_for(cfg)
import jax
from sax_worker.models.decoder_params import device_tree, init_params
from sax_worker.models.lm_programs import DecodeSettings, LmPrograms, RowKnobs
params = jax.device_put(device_tree(cfg, init_params(cfg, jax.random.key(0))))
programs = LmPrograms(cfg, DecodeSettings(4, 1, 1, True, (1,), 0))
zero, one = np.zeros(1, np.float32), np.ones(1, np.int32)
knobs = RowKnobs(zero, one, zero, np.full(1, 4, np.int32))
state = programs.prefill(params, np.zeros((1, 8), np.int32), one, knobs, jax.random.key(1), 0)
compiled = jax.jit(programs.decode, static_argnums=2).lower(params, state, 4).compile()
weights = sum(x.nbytes for x in jax.tree_util.tree_leaves(params))
print(json.dumps({"weights": weights, "temp": compiled.memory_analysis().temp_size_in_bytes}))
"""


def test_bf16_on_cpu_turns_off_loop_hoisting_and_the_concurrency_scheduler_once(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    xla_flags.configure_for(BF16)
    xla_flags.configure_for(BF16)
    flags = os.environ["XLA_FLAGS"]
    assert flags.startswith("--xla_dump_to=/tmp/x --xla_disable_hlo_passes=")
    assert flags.count("--xla_disable_hlo_passes=while-loop-invariant-code-motion") == 1
    assert flags.count("--xla_cpu_enable_concurrency_optimized_scheduler=false") == 1


def test_float32_on_cpu_keeps_xlas_defaults(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    xla_flags.configure_for(F32)
    assert "XLA_FLAGS" not in os.environ


def test_accelerators_keep_xlas_defaults(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cuda")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    xla_flags.configure_for(BF16)
    assert "XLA_FLAGS" not in os.environ


# A child compiles the continuous-batching step of a float32 model with 8 slots under XLA's default flags,
# for 1 and 8 live rows and 1 and 4 tokens a call, and counts the copies of KV-cache arrays (one layer's
# keys or values, f32[8,4,160,8]) in each compiled program.
CACHE_COPIES_CHILD = """
import json, re
import jax
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models import cb_programs
from sax_worker.models.decoder_params import device_tree, init_params
from sax_worker.models.lm_programs import DecodeSettings
cfg = DecoderConfig(num_layers=2, model_dims=32, hidden_dims=64, num_heads=8, num_kv_heads=4, use_mqa=True,
                    dims_per_head=8, vocab_size=64, dtype="float32")
params = jax.device_put(device_tree(cfg, init_params(cfg, jax.random.key(0))))
state = cb_programs.empty_state(cfg, 8, 160, jax.random.key(1))
settings = DecodeSettings(16, 1, 1, True, (1,), 0)
copies = {}
for rows, window in ((1, 64), (1, 160), (8, 64), (8, 160)):
    hlo = cb_programs.step.lower(cfg, settings, rows, window, 4, state, params, 1).compile().as_text()
    copies[f"{rows}x{window}"] = len(re.findall(r"= f32\\[8,4,160,8\\]\\{[0-9,]*\\} copy\\(", hlo))
copies["any copy"] = len(re.findall(r" copy\\(", hlo))
print(json.dumps(copies))
"""


def run_child(mode, script=CHILD):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.run(
        [sys.executable, "-c", script, mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


def test_the_flags_keep_a_float32_copy_of_the_weights_out_of_the_decode_loop():
    default, configured = run_child("default"), run_child("configured")

    # XLA's default hoists a float32 copy of every weight (twice the bf16 bytes) out of the loop.
    assert default["temp"] >= 1.9 * default["weights"]
    assert configured["temp"] < 0.5 * configured["weights"]


def test_a_decode_step_updates_the_kv_cache_in_place_on_cpu():
    copies = run_child("default", CACHE_COPIES_CHILD)

    assert copies.pop("any copy") > 0  # the pattern matches the copies the program does make
    assert copies == {"1x64": 0, "1x160": 0, "8x64": 0, "8x160": 0}
