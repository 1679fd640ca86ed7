"""XLA settings a servable needs before JAX's backend starts (a worker process holds one model).

bf16 weights on CPU: XLA's CPU backend computes bf16 matrix products in float32 and converts the weights
first. Two of its defaults would then materialise the whole model once more in float32 (three times its
bf16 size in all: 13 GB for LmCloudSpmd2B's 4.3 GB): while-loop invariant code motion hoists the
conversions out of the decode loop, and the concurrency-optimised scheduler runs every layer's
conversions up front, since none depends on the activations. Without both, each layer's weights are
converted as the layer runs, and memory stays at the bf16 size plus one layer.
"""

from __future__ import annotations

import os

from sax_worker.models.decoder_config import DecoderConfig

_BF16_ON_CPU = (
    "--xla_disable_hlo_passes=while-loop-invariant-code-motion,while-loop-expensive-invariant-code-motion"
    " --xla_cpu_enable_concurrency_optimized_scheduler=false"
)


def configure_for(cfg: DecoderConfig) -> None:
    """Adds the XLA flags ``cfg`` needs on this process's platform to ``XLA_FLAGS``.

    Only takes effect when called before the first JAX computation of the process (model workers call
    it while building their one servable); later calls change nothing.
    """
    if os.environ.get("JAX_PLATFORMS", "") not in ("", "cpu"):
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if cfg.dtype == "bfloat16" and _BF16_ON_CPU not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_BF16_ON_CPU}".strip()
