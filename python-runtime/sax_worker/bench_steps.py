"""Times an LM servable's device steps in-process: load, compile, prefill and per-token decode.

Both backends: the config's ``framework`` ("jax" or "torch") picks the builder, and the timings run
through the servable's own programs (``lm_backend.DecodePrograms``).

Usage (the model server's registry resolves the config; ``npm run bench:steps`` does both)::

    python -m sax_worker.bench_steps --config resolved.json [--checkpoint None] [--steps 32] [--repeats 5]

Prints one JSON object: the parameter count, load and compile seconds, the prompt bucket, and
prefill / per-token decode milliseconds (median and best of ``--repeats``) for one request of
``numSamples`` rows. Decoding runs with stop ids cleared so every step is timed, as Saxml's benchmark
README does with its test-mode models.

With ``numCacheSlots`` > 0 (continuous batching) it also times the scheduler's step program with one
live slot and with every slot live (``cb_step_ms``), and their ratio as tokens per second
(``cb_batching_gain``): what batching can give on this device before any serving work.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from typing import Any

import jax
import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sax_worker.bench_steps", description=__doc__)
    parser.add_argument(
        "--config", required=True, help="servable config JSON (the registry's resolve output)"
    )
    parser.add_argument("--checkpoint", default="None", help="step directory, or None for random weights")
    parser.add_argument("--steps", type=int, default=32, help="decode steps to time per repeat")
    parser.add_argument("--prompt-tokens", type=int, default=16, help="prompt length in tokens, SOS included")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config: dict[str, Any] = json.load(f)
    print(json.dumps(run(config, args.checkpoint, args.steps, args.prompt_tokens, args.repeats), indent=1))
    return 0


def run(
    config: dict[str, Any], checkpoint: str, steps: int, prompt_tokens: int, repeats: int
) -> dict[str, Any]:
    # Imported here so that --help answers without loading JAX or torch.
    from sax_worker.models.lm_programs import RowKnobs

    framework = config.get("framework", "jax")
    start = time.monotonic()
    servable = _build(config, checkpoint)
    load_seconds = time.monotonic() - start
    serving = servable.serving
    bucket = serving.bucket_for(prompt_tokens)
    steps = min(steps, serving.max_steps_for(bucket))
    # Never stop early: every timed step decodes.
    programs = servable.programs.with_settings(
        dataclasses.replace(servable.programs.settings, stop_ids=(-1,))
    )
    rows = serving.num_samples
    knobs = RowKnobs(
        temperature=np.full(rows, serving.temperature, np.float32),
        top_k=np.full(rows, serving.top_k, np.int32),
        top_p=np.full(rows, np.nan, np.float32),
        max_steps=np.full(rows, steps, np.int32),
    )
    ids = np.full((1, bucket), servable.tokenizer.pad_id, np.int32)
    ids[0, :prompt_tokens] = (np.arange(prompt_tokens) % 100) + 3
    lengths = np.asarray([prompt_tokens], np.int32)
    key = next(iter(servable.method_keys.values()))

    # ``fetch`` reads the state back to the host, so each timing ends when the device work has.
    def prefill() -> Any:
        state = programs.prefill(servable.params, ids, lengths, knobs, key, 0)
        programs.fetch(state)
        return state

    def decode(state: Any) -> None:
        programs.fetch(programs.decode(servable.params, state, steps))

    start = time.monotonic()
    decode(prefill())  # compiles both programs (JAX); warms up the allocator (torch)
    compile_seconds = time.monotonic() - start
    prefill_ms, token_ms = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        state = prefill()
        t1 = time.perf_counter()
        decode(state)
        t2 = time.perf_counter()
        prefill_ms.append((t1 - t0) * 1e3)
        token_ms.append((t2 - t1) * 1e3 / steps)
    figures = {
        "framework": framework,
        "platform": programs.device.type if framework == "torch" else jax.devices()[0].platform,
        "devices": 1 if framework == "torch" else jax.device_count(),
        "family": servable.cfg.family,
        "dtype": servable.cfg.dtype,
        "parameters": int(servable.load_info["parameters"]),
        "load_seconds": round(load_seconds, 2),
        "compile_seconds": round(compile_seconds, 2),
        "rows": rows,
        "prompt_tokens": prompt_tokens,
        "bucket": bucket,
        "decode_steps": steps,
        "prefill_ms": {"median": round(statistics.median(prefill_ms), 2), "best": round(min(prefill_ms), 2)},
        "decode_ms_per_token": {
            "median": round(statistics.median(token_ms), 3),
            "best": round(min(token_ms), 3),
        },
    }
    if serving.num_cache_slots > 0:
        step_ms = {rows: _cb_step_ms(servable, rows, steps, repeats) for rows in (1, serving.num_cache_slots)}
        figures["cb_step_ms"] = {str(rows): ms for rows, ms in step_ms.items()}
        figures["cb_batching_gain"] = round(
            serving.num_cache_slots * step_ms[1] / step_ms[serving.num_cache_slots], 1
        )
    return figures


def _build(config: dict[str, Any], checkpoint: str) -> Any:
    """The servable of ``config``'s framework, built without the worker's warm-up (timed apart here)."""
    if config.get("framework", "jax") == "torch":
        from sax_worker.torch_models import build_torch_lm_servable

        return build_torch_lm_servable(config, checkpoint, seed=0)
    from sax_worker.models.lm_servable import build_lm_servable

    return build_lm_servable(config, checkpoint, seed=0)


def _cb_step_ms(servable: Any, rows: int, steps: int, repeats: int) -> float:
    """Median ms of one continuous-batching step (a call of one step) with the first ``rows`` slots live
    (never finishing), attention reading every position of each slot (the widest window).

    The first steps after a compile run slower on CPU, so one untimed round of ``steps`` comes first.
    """
    from sax_worker.models import cb_programs

    cfg, serving = servable.cfg, servable.serving
    settings = dataclasses.replace(servable.programs.settings, stop_ids=(-1,))
    slots, window = serving.num_cache_slots, serving.slot_length
    state = cb_programs.empty_state(cfg, slots, window, jax.random.key(0))
    # Live with a step budget no round reaches; once a slot's cache is full its writes are dropped, at the
    # same cost, so the rounds may run past it.
    state = state._replace(live=np.arange(slots) < rows, max_steps=np.full(slots, 2**30, np.int32))
    rounds = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for _ in range(steps):
            state, out = cb_programs.step(cfg, settings, rows, window, 1, state, servable.params, 1)
            jax.device_get(out)
        rounds.append((time.perf_counter() - start) * 1e3 / steps)
    return round(statistics.median(rounds[1:]), 3)


if __name__ == "__main__":
    sys.exit(main())
