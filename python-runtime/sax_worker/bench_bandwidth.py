"""The memory-bandwidth limit of batch-1 decoding on this machine, for ``npm run bench -- --peers``.

Decoding one token at batch 1 reads every weight matrix once (the embedding table only a row), so no
server can decode faster than ``read bandwidth / bytes read per step`` tokens per second. This measures
the read bandwidth in the same run as the servers it bounds, the way a decode step reads: streaming
float32 sums over a buffer far larger than the caches, on 1 thread and on every core (numpy releases the
GIL inside a reduction), keeping the best of a few repeats.

Usage::

    python -m sax_worker.bench_bandwidth --config resolved.json [--buffer-mib 1024] [--repeats 5]

Prints one JSON object: ``read_gb_per_s`` (best of 1 thread and all cores, and each), the decode step's
``bytes_per_step`` and ``parameters``, and ``limit_tokens_per_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import num_params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sax_worker.bench_bandwidth", description=__doc__)
    parser.add_argument("--config", required=True, help="LM servable config JSON (the registry's output)")
    parser.add_argument("--buffer-mib", type=int, default=1024, help="size of the buffer read")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config: dict[str, Any] = json.load(f)
    print(json.dumps(run(config, args.buffer_mib, args.repeats)))
    return 0


def run(config: dict[str, Any], buffer_mib: int, repeats: int) -> dict[str, Any]:
    cfg = DecoderConfig.from_dict(config["architecture"])
    step_bytes = bytes_per_step(cfg)
    threads = os.cpu_count() or 1
    single = read_bandwidth(buffer_mib, repeats, 1)
    parallel = read_bandwidth(buffer_mib, repeats, threads)
    best = max(single, parallel)
    return {
        "read_gb_per_s": round(best / 1e9, 2),
        "read_gb_per_s_1_thread": round(single / 1e9, 2),
        f"read_gb_per_s_{threads}_threads": round(parallel / 1e9, 2),
        "parameters": num_params(cfg),
        "bytes_per_step": step_bytes,
        "limit_tokens_per_s": round(best / step_bytes, 1),
    }


def bytes_per_step(cfg: DecoderConfig) -> int:
    """Weight bytes one batch-1 decode step reads: every parameter but the embedding table, of which a
    step reads one row (an untied family's; a tied table is the softmax and is read whole)."""
    itemsize = 2 if cfg.dtype == "bfloat16" else 4
    embedding = 0 if cfg.tied_embeddings else cfg.vocab_size * cfg.model_dims
    return (num_params(cfg) - embedding + cfg.model_dims) * itemsize


def read_bandwidth(buffer_mib: int, repeats: int, threads: int) -> float:
    """Bytes per second of float32 sums over a ``buffer_mib`` buffer split across ``threads``."""
    buffer = np.ones(buffer_mib * 1024 * 1024 // 4, np.float32)
    parts = np.array_split(buffer, threads)
    best = 0.0
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats + 1):  # the first pass faults the pages in
            start = time.perf_counter()
            list(pool.map(np.sum, parts))
            best = max(best, buffer.nbytes / (time.perf_counter() - start))
    return best


if __name__ == "__main__":
    raise SystemExit(main())
