"""The memory-bandwidth limit of batch-1 decoding on this machine, for ``npm run bench -- --peers``.

Decoding one token at batch 1 reads every weight matrix once (the embedding table only a row), so no
server can decode faster than ``read bandwidth / bytes read per step`` tokens per second. This measures
the read bandwidth in the same run as the servers it bounds, the way a decode step reads:

- over a buffer of exactly the step's weight bytes, read again and again, so that it lives where a
  step's weights live between steps: in main memory when they are larger than the last-level cache, in
  that cache when they fit (a 45M-parameter float32 model's 111 MiB fit a 300 MiB L3);
- with the step's own operation, a float32 matrix times a vector, through numpy's BLAS on every core. A
  plain ``np.sum`` is compute-bound well below memory speed on AVX-512 machines (9-21 GB/s against the
  product's 34-64 GB/s on the same buffers), so it would set the limit too low.

Usage::

    python -m sax_worker.bench_bandwidth --config resolved.json [--large-buffer-mib 1024] [--repeats 5]

Prints one JSON object: ``read_gb_per_s`` (the step-sized buffer) and ``read_gb_per_s_large`` (a buffer
far larger than the caches: main memory, for reference), the decode step's ``bytes_per_step`` and
``parameters``, and ``limit_tokens_per_s``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import num_params

# Floats per matrix row of the measured product: 16 KiB rows, like a hidden layer's.
_ROW = 4096


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sax_worker.bench_bandwidth", description=__doc__)
    parser.add_argument("--config", required=True, help="LM servable config JSON (the registry's output)")
    parser.add_argument(
        "--large-buffer-mib", type=int, default=1024, help="size of the main-memory reference buffer"
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config: dict[str, Any] = json.load(f)
    print(json.dumps(run(config, args.large_buffer_mib, args.repeats)))
    return 0


def run(config: dict[str, Any], large_buffer_mib: int, repeats: int) -> dict[str, Any]:
    cfg = DecoderConfig.from_dict(config["architecture"])
    step_bytes = bytes_per_step(cfg)
    step_sized = read_bandwidth(step_bytes, repeats)
    return {
        "read_gb_per_s": round(step_sized / 1e9, 2),
        "read_gb_per_s_large": round(read_bandwidth(large_buffer_mib * 2**20, repeats) / 1e9, 2),
        "parameters": num_params(cfg),
        "bytes_per_step": step_bytes,
        "limit_tokens_per_s": round(step_sized / step_bytes, 1),
    }


def bytes_per_step(cfg: DecoderConfig) -> int:
    """Weight bytes one batch-1 decode step reads: every parameter but the embedding table, of which a
    step reads one row (an untied family's; a tied table is the softmax and is read whole)."""
    itemsize = 2 if cfg.dtype == "bfloat16" else 4
    embedding = 0 if cfg.tied_embeddings else cfg.vocab_size * cfg.model_dims
    return (num_params(cfg) - embedding + cfg.model_dims) * itemsize


def read_bandwidth(nbytes: int, repeats: int) -> float:
    """Bytes per second of float32 matrix-vector products over a buffer of about ``nbytes``, the best of
    ``repeats`` after one pass that faults the pages in and warms the caches."""
    matrix = np.ones((max(nbytes // (4 * _ROW), 1), _ROW), np.float32)
    vector = np.ones(_ROW, np.float32)
    best = 0.0
    for _ in range(repeats + 1):
        start = time.perf_counter()
        matrix @ vector
        best = max(best, matrix.nbytes / (time.perf_counter() - start))
    return best


if __name__ == "__main__":
    raise SystemExit(main())
