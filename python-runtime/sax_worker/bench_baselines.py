"""Throughput baselines for ``npm run bench``: the cell's model without the serving stack, and transformers.

Usage (the harness resolves the servable config through the registry and writes the prompts)::

    python -m sax_worker.bench_baselines --config resolved.json --prompts prompts.json \\
        --max-new-tokens 32 --mode jax|hf [--seed 1234] [--batch 1] [--duration-s 10]

Both modes build weights exactly as a worker does, ``build_lm_servable(config, "None", seed)``, so a cell
started with ``--deterministic_rng`` and the same seed serves the same weights. Each cycles through the
prompts for ``--duration-s`` seconds (and at least once through the list) and prints one JSON object.

- ``jax``: the servable itself called in-process one request at a time (``lm.generate``), after
  ``warm_up``. Its serving config gets two changes so that every request decodes exactly
  ``--max-new-tokens`` tokens per sample: ``maxDecodeSteps`` becomes that number (greedy servables ignore
  the per-request step count) and ``stopTokenIds`` becomes ``[vocabSize]``, an id the model cannot emit,
  so EOS does not end a request early. ``per_example_max_decode_steps`` is sent too where declared.
  Cache slots are dropped (see ``jax_baseline_config``); ``servable_overrides`` lists every change.
  Tokens are counted by that construction (``counting`` says so); the unit test checks it against
  transformers' greedy continuation of the same length.
- ``hf``: the same weights in a float32 ``LlamaForCausalLM`` on the CPU (``hf_interop``), greedy
  ``generate`` with no EOS, ``--batch`` prompts at a time (left-padded), tokenised as the servable does
  ([SOS] + ids). Tokens are counted from the returned sequences. LLaMA-family configs only.

``per_token_ms`` is elapsed time per generated token, prefill included (amortised over the request).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sax_worker.models.lm_servable import LmServable

MODES = ("jax", "hf")
DEFAULT_SEED = 1234
DEFAULT_DURATION_S = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sax_worker.bench_baselines", description=__doc__)
    parser.add_argument(
        "--config", required=True, help="servable config JSON (the registry's resolve output)"
    )
    parser.add_argument("--prompts", required=True, help="JSON file holding a list of prompt strings")
    parser.add_argument("--max-new-tokens", type=int, required=True, help="tokens generated per request")
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="weights seed, as the worker's")
    parser.add_argument("--batch", type=int, default=1, help="prompts per generate call (hf only)")
    parser.add_argument("--duration-s", type=float, default=DEFAULT_DURATION_S, help="timed seconds")
    args = parser.parse_args(argv)
    if args.max_new_tokens < 1 or args.batch < 1 or args.duration_s < 0:
        parser.error("--max-new-tokens and --batch must be >= 1 and --duration-s >= 0")
    if args.mode == "jax" and args.batch != 1:
        parser.error("--batch applies to --mode hf; the jax baseline serves one request at a time")
    if args.mode == "hf":
        # JAX only draws the weights here (on the host, identically on every platform): keep it off any
        # accelerator so that it neither reserves device memory nor competes with the CPU run.
        import jax

        jax.config.update("jax_platforms", "cpu")
    try:
        with open(args.config) as f:
            config = json.load(f)
        with open(args.prompts) as f:
            prompts = _prompt_list(json.load(f), args.prompts)
        result = run(
            config,
            prompts,
            mode=args.mode,
            max_new_tokens=args.max_new_tokens,
            seed=args.seed,
            batch=args.batch,
            duration_s=args.duration_s,
        )
    except (OSError, ValueError) as e:
        print(f"bench_baselines: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=1))
    return 0


def run(
    config: Mapping[str, Any],
    prompts: Sequence[str],
    *,
    mode: str,
    max_new_tokens: int,
    seed: int = DEFAULT_SEED,
    batch: int = 1,
    duration_s: float = DEFAULT_DURATION_S,
) -> dict[str, Any]:
    """One baseline's figures: the JSON object ``main`` prints."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not prompts:
        raise ValueError("prompts: need at least one prompt")
    if mode == "jax":
        return _run_jax(config, prompts, max_new_tokens, seed, duration_s)
    return _run_hf(config, prompts, max_new_tokens, seed, batch, duration_s)


# mode jax


def jax_baseline_config(config: Mapping[str, Any], max_new_tokens: int) -> dict[str, Any]:
    """``config`` with the serving changes that make every request decode ``max_new_tokens`` tokens.

    A config with cache slots (continuous batching) loses them: the baseline is the plain one-request
    program pair (one prefill, one decode loop), not the serving scheduler stepping a single slot. One
    greedy sample per request keeps the decoding the cell's slots do.
    """
    from sax_worker.models.decoder_config import DecoderConfig

    vocab_size = DecoderConfig.from_dict(config.get("architecture", {})).vocab_size
    serving = config.get("serving", {})
    overrides: dict[str, Any] = {"maxDecodeSteps": max_new_tokens, "stopTokenIds": [vocab_size]}
    if (serving.get("numCacheSlots") or 0) > 0:
        overrides |= {"numCacheSlots": 0, "numSamples": 1, "topK": 1}
    return {**config, "serving": {**serving, **overrides}}


def generate_request(servable: LmServable, prompt: str, max_new_tokens: int) -> dict[str, Any]:
    """An ``lm.generate`` request for ``prompt``; rejects a prompt whose bucket leaves too few steps."""
    serving = servable.serving
    ids = servable.tokenizer.encode(prompt, serving.input_seq_len, slice_left=serving.slice_left)
    allowed = serving.max_steps_for(serving.bucket_for(len(ids)))
    if allowed < max_new_tokens:
        raise ValueError(
            f"prompt {prompt[:40]!r} leaves {allowed} decode steps under maxSeqLen; "
            f"lower --max-new-tokens or shorten the prompts"
        )
    request: dict[str, Any] = {"text": prompt}
    if "per_example_max_decode_steps" in serving.extra_inputs:
        request["extra_inputs"] = {"items": {"per_example_max_decode_steps": max_new_tokens}}
    return request


def _run_jax(
    config: Mapping[str, Any], prompts: Sequence[str], max_new_tokens: int, seed: int, duration_s: float
) -> dict[str, Any]:
    import jax

    from sax_worker.models.lm_servable import NO_CHECKPOINT, build_lm_servable

    baseline_config = jax_baseline_config(config, max_new_tokens)
    start = time.perf_counter()
    servable = build_lm_servable(baseline_config, NO_CHECKPOINT, seed)
    load_s = time.perf_counter() - start
    requests = [generate_request(servable, p, max_new_tokens) for p in prompts]
    start = time.perf_counter()
    servable.warm_up()
    warm_up_s = time.perf_counter() - start
    per_request = max_new_tokens * servable.serving.num_samples

    def one_request(i: int) -> int:
        servable.call("lm.generate", requests[i % len(requests)])  # results come back to the host
        return per_request

    calls, tokens, elapsed_s = _timed(one_request, len(requests), duration_s)
    servable.close()  # frees the weights; the config objects stay readable
    return {
        **_figures("jax", 1, calls, tokens, elapsed_s, load_s, warm_up_s, max_new_tokens),
        "samples_per_request": servable.serving.num_samples,
        "counting": (
            "exact by construction: maxDecodeSteps = max_new_tokens and stopTokenIds = [vocabSize], so "
            "every request decodes max_new_tokens tokens per sample"
        ),
        "servable_overrides": {
            k: v for k, v in baseline_config["serving"].items() if config.get("serving", {}).get(k) != v
        },
        "platform": jax.devices()[0].platform,
        "dtype": servable.cfg.dtype,
    }


# mode hf


def hf_generate(model: Any, prompts_ids: Sequence[Sequence[int]], max_new_tokens: int, pad_id: int) -> Any:
    """Greedy ``max_new_tokens`` continuations of the prompts (left-padded together): int64 [B, N].

    ``model.generation_config`` must have no EOS (see ``hf_baseline_model``), so no row ends early.
    """
    import torch

    width = max(len(ids) for ids in prompts_ids)
    input_ids = torch.full((len(prompts_ids), width), pad_id, dtype=torch.long)  # [B, P]
    attention_mask = torch.zeros_like(input_ids)
    for row, ids in enumerate(prompts_ids):
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        attention_mask[row, width - len(ids) :] = 1
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids, attention_mask=attention_mask)  # [B, P + N]
    return out[:, width:]


def hf_baseline_model(servable: LmServable, max_new_tokens: int) -> Any:
    """The servable's weights as a float32 CPU ``LlamaForCausalLM`` that greedily generates exactly
    ``max_new_tokens`` tokens: its generation config has no EOS (transformers' LLaMA default is id 2)."""
    import transformers

    from sax_worker.hf_interop import checkpoint_arrays, hf_model

    model = hf_model(servable.cfg, checkpoint_arrays(servable.cfg, servable.params))
    model.generation_config = transformers.GenerationConfig(
        do_sample=False,
        max_new_tokens=max_new_tokens,
        min_new_tokens=max_new_tokens,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=servable.tokenizer.pad_id,
    )
    return model


def _run_hf(
    config: Mapping[str, Any],
    prompts: Sequence[str],
    max_new_tokens: int,
    seed: int,
    batch: int,
    duration_s: float,
) -> dict[str, Any]:
    import torch

    from sax_worker.models.decoder_config import DecoderConfig
    from sax_worker.models.lm_servable import NO_CHECKPOINT, build_lm_servable

    family = DecoderConfig.from_dict(config.get("architecture", {})).family
    if family != "llama":  # before drawing weights, which takes a while for large models
        raise ValueError(
            f"--mode hf runs LlamaForCausalLM and needs a llama-family config, got family {family!r}"
        )
    torch.set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    servable = build_lm_servable(config, NO_CHECKPOINT, seed)
    model = hf_baseline_model(servable, max_new_tokens)
    load_s = time.perf_counter() - start
    tokenizer, serving = servable.tokenizer, servable.serving
    servable.close()

    def one_batch(i: int) -> int:
        texts = [prompts[(i * batch + j) % len(prompts)] for j in range(batch)]
        ids = [tokenizer.encode(t, serving.input_seq_len, slice_left=serving.slice_left) for t in texts]
        new = hf_generate(model, ids, max_new_tokens, tokenizer.pad_id)  # [B, N]
        for row in new.tolist():  # detokenised, as the servable's answers are (text unused)
            tokenizer.decode(row)
        return new.numel()

    start = time.perf_counter()
    one_batch(0)  # untimed: first-call allocations
    warm_up_s = time.perf_counter() - start
    calls, tokens, elapsed_s = _timed(one_batch, -(-len(prompts) // batch), duration_s)
    return {
        **_figures("hf", batch, calls * batch, tokens, elapsed_s, load_s, warm_up_s, max_new_tokens),
        "counting": "exact: new tokens in transformers' returned sequences (no EOS, so none end early)",
        "platform": "cpu",
        "threads": torch.get_num_threads(),
        "dtype": "float32",
    }


# shared


def _timed(step: Callable[[int], int], min_calls: int, duration_s: float) -> tuple[int, int, float]:
    """Calls ``step(0), step(1), …`` for ``duration_s`` and at least ``min_calls`` times:
    (calls, tokens summed over the calls, elapsed seconds)."""
    calls = tokens = 0
    start = time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < duration_s:
        tokens += step(calls)
        calls += 1
    return calls, tokens, time.perf_counter() - start


def _figures(
    mode: str,
    batch: int,
    requests: int,
    tokens: int,
    elapsed_s: float,
    load_s: float,
    warm_up_s: float,
    max_new_tokens: int,
) -> dict[str, Any]:
    return {
        "mode": mode,
        "batch": batch,
        "tokens_per_s": round(tokens / elapsed_s, 2),
        "requests": requests,
        "tokens": tokens,
        "elapsed_s": round(elapsed_s, 3),
        "per_token_ms": round(elapsed_s * 1e3 / tokens, 4),
        "load_s": round(load_s, 3),
        "warm_up_s": round(warm_up_s, 3),
        "max_new_tokens": max_new_tokens,
    }


def _prompt_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise ValueError(f"{path}: expected a non-empty JSON list of strings")
    return value


if __name__ == "__main__":
    sys.exit(main())
