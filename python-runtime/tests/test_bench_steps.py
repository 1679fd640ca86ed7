"""``python -m sax_worker.bench_steps``: the device-step timings that ``npm run bench:steps`` prints."""

import json

from sax_worker import bench_steps
from tiny_models import TINY_LLAMA

SERVING = {"inputSeqLen": 16, "bucketKeys": [8], "maxDecodeSteps": 4, "numSamples": 1, "topK": 1}


def config(**serving):
    return {
        "kind": "lm",
        "architecture": TINY_LLAMA,
        "serving": {**SERVING, **serving},
        "randomWeightsWhenNoCheckpoint": True,
    }


def test_times_prefill_and_decode_without_continuous_batching():
    figures = bench_steps.run(config(), "None", steps=3, prompt_tokens=5, repeats=2)
    assert figures["bucket"] == 8
    assert figures["decode_steps"] == 3
    assert figures["prefill_ms"]["best"] > 0
    assert figures["decode_ms_per_token"]["median"] > 0
    assert "cb_step_ms" not in figures


def test_times_the_batching_step_at_one_and_every_slot(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config(numCacheSlots=4)))
    assert bench_steps.main(["--config", str(path), "--steps", "3", "--repeats", "1"]) == 0
    figures = json.loads(capsys.readouterr().out)
    one, every = figures["cb_step_ms"]["1"], figures["cb_step_ms"]["4"]
    assert one > 0
    assert every > 0
    assert figures["cb_batching_gain"] == round(4 * one / every, 1)


def test_times_a_torch_servable_through_its_own_programs():
    figures = bench_steps.run({**config(), "framework": "torch"}, "None", steps=3, prompt_tokens=5, repeats=2)
    assert (figures["framework"], figures["platform"], figures["devices"]) == ("torch", "cpu", 1)
    assert figures["decode_steps"] == 3
    assert figures["decode_ms_per_token"]["median"] > 0
