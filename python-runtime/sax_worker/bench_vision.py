"""Times a vision servable in-process: load, first call, and per-request latency of each of its methods.

Usage (the model server's registry resolves the config; ``npm run bench:steps`` does both)::

    python -m sax_worker.bench_vision --config resolved.json [--checkpoint None] [--repeats 10]

Each image method gets one request of a 640x480 JPEG (a smooth colour pattern), vm.generate the prompt
"a red fox in the snow"; requests run one at a time through the servable's own ``call``, so the figures
include decoding and pre-processing, as a served request does, but no gRPC or worker hop. Prints one
JSON object: the platform, the load seconds, and per method the first call (compilation, allocator
warm-up) and the median and best of ``--repeats`` calls, in milliseconds.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from typing import Any

import numpy as np

#: The text of every timed vm.generate request.
PROMPT = "a red fox in the snow"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sax_worker.bench_vision", description=__doc__)
    parser.add_argument(
        "--config", required=True, help="servable config JSON (the registry's resolve output)"
    )
    parser.add_argument("--checkpoint", default="None", help="state-dict file, or None for random weights")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config: dict[str, Any] = json.load(f)
    print(json.dumps(run(config, args.checkpoint, args.repeats), indent=1))
    return 0


def run(config: dict[str, Any], checkpoint: str, repeats: int) -> dict[str, Any]:
    # Imported here so that --help answers without loading a framework.
    from sax_worker.vision.builders import build_vision_servable

    start = time.monotonic()
    servable = build_vision_servable(config, checkpoint, seed=0)
    figures: dict[str, Any] = {
        "family": config["architecture"]["family"],
        "framework": config["framework"],
        "platform": os.environ.get("JAX_PLATFORMS", "cpu"),
        "load_seconds": round(time.monotonic() - start, 2),
    }
    for method in sorted(servable.methods):
        request = {"text": PROMPT} if method == "vm.generate" else {"image_bytes": _jpeg(640, 480)}
        first = _timed_ms(lambda m=method, r=request: servable.call(m, r))
        times = [_timed_ms(lambda m=method, r=request: servable.call(m, r)) for _ in range(repeats)]
        figures[method] = {
            "first_ms": round(first, 1),
            "median_ms": round(statistics.median(times), 2),
            "best_ms": round(min(times), 2),
        }
    servable.close()
    return figures


def _timed_ms(call: Any) -> float:
    start = time.perf_counter()
    call()  # every method returns host values (floats, bytes), so the device work is done here
    return (time.perf_counter() - start) * 1e3


def _jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) % 256], -1)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, format="JPEG", quality=90)
    return out.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
