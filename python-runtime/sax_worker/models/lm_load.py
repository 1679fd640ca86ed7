"""Reading an LM servable config and getting its weights on the host, for every backend's builder.

The JAX builder (``lm_servable.build_lm_servable``) and the PyTorch one
(``sax_worker.torch_models.build_torch_lm_servable``) accept the same config (only ``framework`` differs)
and the same checkpoints, and draw the same seeded random weights: both parse with ``parse_lm_config``,
split the load seed with ``seed_keys`` and read or draw the serving tree of ``decoder_params`` with
``host_params`` (from a Pax step directory or a Hugging Face LLaMA directory). Only placing that tree
on devices is backend-specific.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import jax

from sax_worker.models import checkpoint as checkpoints
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params, init_params
from sax_worker.models.hf_checkpoint import is_hf_checkpoint, load_hf_params
from sax_worker.models.lm_serving_config import LmServingConfig
from sax_worker.models.tokenizers import Tokenizer, tokenizer_from_dict

#: The checkpoint value that means "no checkpoint" (spec §5.1, §5.4).
NO_CHECKPOINT = "None"

_CONFIG_KEYS = frozenset(
    {
        "kind",
        "framework",
        "architecture",
        "tokenizer",
        "serving",
        "meshShapes",
        "testMode",
        "randomWeightsWhenNoCheckpoint",
    }
)


@dataclasses.dataclass(frozen=True)
class LmConfig:
    """An LM servable config, parsed."""

    cfg: DecoderConfig
    tokenizer: Tokenizer
    serving: LmServingConfig
    mesh_shapes: Sequence[Sequence[int]]  # tried in order; @default [[1, 1, 1]]
    random_weights: bool  # seeded random weights rather than the checkpoint's


def parse_lm_config(config: Mapping[str, Any], checkpoint: str, framework: str) -> LmConfig:
    """Parses the model server's LM servable config for the backend ``framework`` ("jax" or "torch").

    ``config`` keys: ``kind`` ("lm"), ``framework`` (@default "jax"), ``architecture``
    (``DecoderConfig.from_dict``), ``tokenizer`` (``tokenizers.tokenizer_from_dict``; @default bytes),
    ``serving`` (``LmServingConfig.from_dict``; @default the template), ``meshShapes``, ``testMode``
    (ignore the checkpoint, use seeded random weights) and ``randomWeightsWhenNoCheckpoint`` (checkpoint
    "None" means seeded random weights). Invalid configs raise ``ValueError``.
    """
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        raise ValueError(f"lm servable config: unknown keys {unknown}; expected {sorted(_CONFIG_KEYS)}")
    if config.get("kind", "lm") != "lm" or config.get("framework", "jax") != framework:
        raise ValueError(
            f"lm servable config: kind must be 'lm' and framework {framework!r}, got kind "
            f"{config.get('kind')!r} and framework {config.get('framework', 'jax')!r}"
        )
    if "architecture" not in config:
        raise ValueError("lm servable config: missing 'architecture'")
    random_weights = config.get("testMode", False) or (
        checkpoint == NO_CHECKPOINT and config.get("randomWeightsWhenNoCheckpoint", False)
    )
    return LmConfig(
        cfg=DecoderConfig.from_dict(config["architecture"]),
        tokenizer=tokenizer_from_dict(config.get("tokenizer", {"type": "bytes"})),
        serving=LmServingConfig.from_dict(config.get("serving", {})),
        mesh_shapes=config.get("meshShapes") or [[1, 1, 1]],
        random_weights=bool(random_weights),
    )


def seed_keys(seed: int) -> tuple[jax.Array, jax.Array]:
    """The load seed split into (weights init key, methods key), as every backend splits it."""
    init_key, methods_key = jax.random.split(jax.random.key(seed))
    return init_key, methods_key


def method_keys(methods_key: jax.Array, serving: LmServingConfig) -> jax.Array:
    """One key per method of ``serving``, in sorted method name order."""
    return jax.random.split(methods_key, len(serving.methods))


def host_params(lm: LmConfig, checkpoint: str, init_key: jax.Array) -> tuple[Params, int]:
    """The serving tree as host arrays, and the bytes read.

    In order: seeded random weights when ``lm.random_weights``; a Hugging Face LLaMA checkpoint when
    ``checkpoint`` is a local directory with ``config.json`` and ``*.safetensors`` files
    (``hf_checkpoint``); otherwise a committed Pax step directory (``…/checkpoint_00000000``, local or
    ``gs://``), which is also where a ``gs://`` HF directory, or a local one without safetensors files,
    ends up and fails as an invalid step directory. ``ValueError`` says what is wrong with the checkpoint.
    """
    if lm.random_weights:
        return init_params(lm.cfg, init_key), 0
    if is_hf_checkpoint(checkpoint):
        return load_hf_params(lm.cfg, checkpoint)
    params, stats = checkpoints.load_params(lm.cfg, checkpoint)
    return params, stats.bytes
