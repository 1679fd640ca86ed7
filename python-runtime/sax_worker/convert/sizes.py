"""Model sizes: Saxml's ``--model-size`` table (spec data-plane §5.5), custom sizes, and their checks.

A size fixes what the weights alone cannot say: how a [N·H, D] projection splits into heads (N query
heads, K key/value heads, H dims per head), how many vocabulary rows to keep (checkpoints may pad the
vocabulary) and whether attention is stored as one combined QKV weight or as separate q/k/v weights (the
servable's ``useMqa`` must agree). D and F come from the tensors themselves.

Saxml converts whatever the flag says and fails later, or serves garbage, when the flag does not fit
the files. Here every dimension the checkpoint's own config file states (``params.json``,
``config.json``) must agree with the size, and the error names the sizes that would fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sax_worker.convert.errors import ConvertError

CUSTOM = "custom"


@dataclasses.dataclass(frozen=True)
class ModelSize:
    """The head layout, vocabulary and attention layout of a converted model."""

    num_layers: int  # L
    num_heads: int  # N
    num_kv_heads: int  # K
    dims_per_head: int  # H
    vocab_size: int  # V
    combined_qkv: bool  # one [3, D, N, H] weight (needs K == N); else query/key/value weights


#: Saxml's size keys (spec §5.5). Saxml also lists num_gpus, which is 1 for every key.
MODEL_SIZES: Mapping[str, ModelSize] = {
    "7b": ModelSize(32, 32, 32, 128, 32000, combined_qkv=True),
    "13b": ModelSize(40, 40, 40, 128, 32000, combined_qkv=True),
    "70b": ModelSize(80, 64, 8, 128, 32000, combined_qkv=False),
    "llama3_1b": ModelSize(16, 32, 8, 64, 128256, combined_qkv=False),
    "llama3_8b": ModelSize(32, 32, 8, 128, 128256, combined_qkv=False),
    "llama3_70b": ModelSize(80, 64, 8, 128, 128256, combined_qkv=False),
    "llama3_405b_mp8": ModelSize(126, 128, 8, 128, 128256, combined_qkv=False),
    "llama3_405b_mp16": ModelSize(126, 128, 16, 128, 128256, combined_qkv=False),
}

#: The integer fields of ``ModelSize`` and the flag that sets each for ``--model-size custom``.
DIMENSION_FLAGS: Mapping[str, str] = {
    "num_layers": "--num-layers",
    "num_heads": "--num-heads",
    "num_kv_heads": "--num-kv-heads",
    "dims_per_head": "--dims-per-head",
    "vocab_size": "--vocab-size",
}


@dataclasses.dataclass(frozen=True)
class SourceDims:
    """What a checkpoint's own config file says about its shape; None where it says nothing."""

    file: str  # the config file, for messages
    num_layers: int | None = None
    num_heads: int | None = None
    num_kv_heads: int | None = None
    dims_per_head: int | None = None
    vocab_size: int | None = None


def resolve_size(
    key: str, dimensions: Mapping[str, int | None], combined_qkv: bool | None, source: SourceDims
) -> ModelSize:
    """The size ``--model-size key`` names, checked against what the checkpoint says of itself.

    ``custom`` takes each dimension from its flag (``dimensions``, keyed like ``DIMENSION_FLAGS``), else
    from the source's config file, and a combined QKV weight when K == N unless ``combined_qkv`` says
    otherwise. Named sizes accept no dimension flags. ``ConvertError`` on any conflict or gap.
    """
    given = {field: value for field, value in dimensions.items() if value is not None}
    if key == CUSTOM:
        size = _custom(given, combined_qkv, source)
    elif key in MODEL_SIZES:
        flags = [DIMENSION_FLAGS[field] for field in given] + (
            ["--combined-qkv/--no-combined-qkv"] if combined_qkv is not None else []
        )
        if flags:
            raise ConvertError(
                f"{', '.join(flags)} apply only to --model-size {CUSTOM}; --model-size {key} fixes them"
            )
        size = MODEL_SIZES[key]
    else:
        raise ConvertError(f"unknown --model-size {key!r}; choose one of {', '.join([*MODEL_SIZES, CUSTOM])}")
    _check_against_source(key, size, source)
    return size


def _custom(given: Mapping[str, int], combined_qkv: bool | None, source: SourceDims) -> ModelSize:
    values = {field: given.get(field, getattr(source, field)) for field in DIMENSION_FLAGS}
    missing = [DIMENSION_FLAGS[field] for field, value in values.items() if value is None]
    if missing:
        raise ConvertError(
            f"--model-size {CUSTOM} needs {', '.join(missing)}: {source.file} does not state "
            f"{'it' if len(missing) == 1 else 'them'}"
        )
    known = {field: value for field, value in values.items() if value is not None}
    for field, value in known.items():
        if value < 1:
            raise ConvertError(f"{DIMENSION_FLAGS[field]} must be a positive integer, got {value}")
    combined = known["num_kv_heads"] == known["num_heads"] if combined_qkv is None else combined_qkv
    return ModelSize(**known, combined_qkv=combined)


def _check_against_source(key: str, size: ModelSize, source: SourceDims) -> None:
    conflicts = [
        f"{field} {getattr(source, field)} (the size has {getattr(size, field)})"
        for field in ("num_layers", "num_heads", "num_kv_heads", "dims_per_head")
        if getattr(source, field) is not None and getattr(source, field) != getattr(size, field)
    ]
    if not conflicts:
        return
    fitting = [name for name, candidate in MODEL_SIZES.items() if _fits(candidate, source)]
    hint = f"--model-size {' or '.join(fitting)}" if fitting else f"--model-size {CUSTOM}"
    raise ConvertError(
        f"--model-size {key} does not match the checkpoint: {source.file} says {', '.join(conflicts)}; "
        f"try {hint}"
    )


def _fits(size: ModelSize, source: SourceDims) -> bool:
    return all(
        getattr(source, field) in (None, getattr(size, field))
        for field in ("num_layers", "num_heads", "num_kv_heads", "dims_per_head")
    )
