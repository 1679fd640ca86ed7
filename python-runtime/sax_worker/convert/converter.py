"""One conversion from start to finish: input -> model size -> arrays -> committed step directory.

``convert`` opens the input (``formats``), checks the model size against what the checkpoint says of
itself (``sizes``), derives the arrays the servable loads (``mapping``) and writes them one at a time
(``writer``), resuming an interrupted run of the same conversion, then commits, optionally verifies,
and reports the peak resident set. At any moment memory holds one output variable and a few chunks of
its source or its encoded output: the largest variable sets the bound, not the model.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.formats import open_source
from sax_worker.convert.mapping import STORED_DTYPE, Target, build, check, decoder_config, targets
from sax_worker.convert.memory import peak_rss_bytes, trim_heap
from sax_worker.convert.progress import Progress, format_bytes, format_duration
from sax_worker.convert.sizes import resolve_size
from sax_worker.convert.source import Source
from sax_worker.convert.verify import verify
from sax_worker.convert.writer import StepWriter
from sax_worker.models.decoder_config import DecoderConfig

# Part of the journal's identity: bump it when the mapping changes, so no run resumes an older one.
_MAPPING_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ConvertOptions:
    """One conversion, as the command line asks for it."""

    base_model_path: Path  # Meta (consolidated.NN.pth + params.json) or HF (*.safetensors + config.json)
    pax_model_path: str  # output root, local or gs://; the step directory goes under it
    model_size: str  # a key of sizes.MODEL_SIZES, or "custom"
    input_format: str = "auto"
    dimensions: Mapping[str, int | None] = dataclasses.field(default_factory=dict)  # custom sizes only
    combined_qkv: bool | None = None  # custom sizes only; None: combined when K == N
    verify: bool = False


def convert(options: ConvertOptions, log: TextIO) -> str:
    """Converts, reporting on ``log``; returns the committed step directory (what to publish)."""
    source = open_source(options.base_model_path, options.input_format)
    size = resolve_size(options.model_size, options.dimensions, options.combined_qkv, source.dims)
    cfg = decoder_config(size, source)
    plan = targets(cfg)
    check(plan, source)
    writer = StepWriter(options.pax_model_path, _identity(source, cfg))
    log.write(f"{source.description} -> {writer.url}\n  {_describe(cfg)}\n")
    if not writer.is_committed():
        _convert(plan, source, writer, log)
    elif not options.verify:
        raise ConvertError(
            f"{writer.url} already holds a committed checkpoint; delete it to convert again, or add "
            "--verify to compare it with the source"
        )
    if options.verify:
        progress = Progress("verifying", len(plan), _total_bytes(plan), log)
        try:
            verify(plan, source, writer.url, progress)
        finally:
            progress.finish()
        log.write(f"verified {len(plan)} variables: identical to the source\n")
    largest = max(target.nbytes for target in plan)
    log.write(f"peak RSS {format_bytes(peak_rss_bytes())} (largest variable {format_bytes(largest)})\n")
    return writer.url


def _convert(plan: Sequence[Target], source: Source, writer: StepWriter, log: TextIO) -> None:
    done = writer.resume()
    progress = Progress("converting", len(plan), _total_bytes(plan), log)
    if done:
        log.write(f"resuming: {len(done)} of {len(plan)} arrays were written by an earlier run\n")
        progress.skip(len(done), _total_bytes([t for t in plan if t.name in done]))
    start, written = time.monotonic(), 0
    try:
        for target in plan:
            if target.name not in done:
                writer.write(target.name, build(target, source))
                trim_heap()
                written += target.nbytes
                progress.advance(target.nbytes)
    finally:
        progress.finish()  # a terminal's bar line ends before any message that follows
    writer.commit({target.name: target.shape for target in plan}, np.dtype(STORED_DTYPE).name)
    seconds = time.monotonic() - start
    rate = f" ({format_bytes(round(written / seconds))}/s)" if seconds > 0 else ""
    log.write(
        f"wrote {len(plan) - len(done)} arrays ({format_bytes(written)}) in {format_duration(seconds)}"
        f"{rate}; committed {writer.url}\n"
    )


def _identity(source: Source, cfg: DecoderConfig) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one (see ``writer``)."""
    files = [[file.name, (stat := file.stat()).st_size, stat.st_mtime_ns] for file in source.files]
    return {"mapping": _MAPPING_VERSION, "files": files, "model": dataclasses.asdict(cfg)}


def _describe(cfg: DecoderConfig) -> str:
    attention = "combined QKV (useMqa false)" if cfg.combined_qkv else "separate q/k/v (useMqa true)"
    return (
        f"L {cfg.num_layers}, D {cfg.model_dims}, F {cfg.hidden_dims}, N {cfg.num_heads}, "
        f"K {cfg.num_kv_heads}, H {cfg.dims_per_head}, V {cfg.vocab_size}, {attention}"
    )


def _total_bytes(plan: Sequence[Target]) -> int:
    return sum(target.nbytes for target in plan)
