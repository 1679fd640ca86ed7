"""Validating LM method requests and resolving their extra inputs (spec data-plane §3.3, §3.10) on the host.

Requests arrive as the payloads of ``servables/base.py``; everything a device program needs is turned into
plain Python values here, so that ``ValueError`` (INVALID_ARGUMENT) is raised before any device work.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from sax_worker.models.lm_serving_config import EXTRA_INPUT_KINDS, LmServingConfig


@dataclasses.dataclass(frozen=True)
class SampleKnobs:
    """The per-request decoding knobs after defaults and overrides."""

    temperature: float
    top_k: int
    top_p: float  # NaN: disabled
    max_decode_steps: int  # in 1..MAX_DECODE_STEPS (or the max_seq_len cap)


def text_field(request: Mapping[str, Any], key: str, default: str | None = None) -> str:
    """``request[key]`` as a string (or ``default`` when absent)."""
    value = request.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"request field {key!r} must be a string, got {type(value).__name__}")
    return value


def extra_input_items(request: Mapping[str, Any], declared: Mapping[str, float]) -> dict[str, float]:
    """The request's ``extra_inputs.items`` merged over the ``declared`` defaults.

    Every key must be declared (as the reference validates before enqueueing); tensors and strings are not
    declared by LM servables yet, so any is rejected.
    """
    extra = request.get("extra_inputs") or {}
    if not isinstance(extra, Mapping):
        raise ValueError("request field 'extra_inputs' must be an object")
    values = dict(declared)
    for kind in ("items", "tensors", "strings"):
        given = extra.get(kind) or {}
        if not isinstance(given, Mapping):
            raise ValueError(f"extra_inputs.{kind} must be an object")
        for key, value in given.items():
            if kind != "items" or key not in declared:
                raise ValueError(
                    f"extra input {key!r} ({kind}) is not declared by this method; "
                    f"declared: {sorted(declared)}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"extra input {key!r} must be a number, got {value!r}")
            values[key] = float(value)
    return values


def sample_knobs(serving: LmServingConfig, items: Mapping[str, float], max_steps: int) -> SampleKnobs:
    """Per-request knobs: declared extra inputs override the config (ints truncate toward zero).

    ``max_steps`` is the cap for the prompt's bucket. The greedy path ignores every request knob; under
    continuous batching only ``per_example_max_decode_steps`` counts (spec §3.3, §4.3).
    """
    if not serving.honours_request_knobs:
        return SampleKnobs(float(serving.temperature), serving.top_k, math.nan, max_steps)
    temperature = items.get("temperature", math.nan)
    if math.isnan(temperature):
        temperature = float(serving.temperature)
    if not temperature >= 0:
        raise ValueError(f"extra input 'temperature' must be >= 0, got {temperature}")
    top_k = _as_int(items, "per_example_top_k", serving.top_k)
    if top_k < 0:
        raise ValueError(f"extra input 'per_example_top_k' must be >= 0, got {top_k}")
    # A value above the cap is capped; the first token always counts, so at least 1.
    steps = max(1, min(_as_int(items, "per_example_max_decode_steps", max_steps), max_steps))
    return SampleKnobs(temperature, top_k, items.get("per_example_top_p", math.nan), steps)


def _as_int(items: Mapping[str, float], key: str, default: int) -> int:
    assert EXTRA_INPUT_KINDS[key] is int
    value = items.get(key, math.nan)
    if math.isnan(value):
        return default
    if math.isinf(value):
        raise ValueError(f"extra input {key!r} must be finite, got {value}")
    return int(value)  # truncates toward zero, like the reference's cast (2.7 -> 2)
