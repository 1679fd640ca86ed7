"""XLA settings a servable needs before JAX's backend starts (a worker process holds one model).

bf16 weights on CPU: XLA's CPU backend computes bf16 matrix products in float32 and converts the weights
first. Its while-loop invariant code motion then hoists those conversions out of the decode and layer
loops, so the whole model is materialised once more in float32 (three times its bf16 size in all: 13 GB
for LmCloudSpmd2B's 4.3 GB). Without the hoisting each layer's weights are converted as the loop reaches
them, and memory stays at the bf16 size plus one layer.
"""

from __future__ import annotations

import os

from sax_worker.models.decoder_config import DecoderConfig

_NO_LOOP_HOISTING = (
    "--xla_disable_hlo_passes=while-loop-invariant-code-motion,while-loop-expensive-invariant-code-motion"
)


def configure_for(cfg: DecoderConfig) -> None:
    """Adds the XLA flags ``cfg`` needs on this process's platform to ``XLA_FLAGS``.

    Only takes effect when called before the first JAX computation of the process (model workers call
    it while building their one servable); later calls change nothing.
    """
    platforms = os.environ.get("JAX_PLATFORMS", "")
    on_cpu = platforms in ("", "cpu")
    if cfg.dtype == "bfloat16" and on_cpu:
        flags = os.environ.get("XLA_FLAGS", "")
        if _NO_LOOP_HOISTING not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {_NO_LOOP_HOISTING}".strip()
