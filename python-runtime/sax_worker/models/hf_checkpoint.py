"""Serving a Hugging Face LLaMA checkpoint directory as it is, with no conversion step.

A LLaMA class may be published with a local directory that transformers' ``save_pretrained`` wrote
(``config.json`` and one or more ``*.safetensors`` files, plus ``model.safetensors.index.json`` when
sharded) as its checkpoint. The converter's parts read it: ``convert.hf_source`` presents the tensors
under Meta's names with HF's RoPE half-split undone, and ``convert.mapping`` merges each serving array
from them, here in float32 (the converter stores float16) so that serving keeps the source's precision;
``decoder_params.assemble`` stacks the arrays into the serving tree and casts them to the class's dtype.

The published class decides the architecture, as it does for a Pax step directory: every dimension
``config.json`` states must be the class's, and every tensor must have the shape the class needs, all
checked before a weight is read. Bad input raises ``ValueError`` (INVALID_ARGUMENT).

Only local directories qualify: a ``gs://`` path always goes to the Pax step-directory loader. Reading
safetensors needs torch, which the JAX-only Docker images lack, so the convert modules are imported only
when such a directory loads, and a worker without torch refuses it with FAILED_PRECONDITION.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.sizes import SourceDims
from sax_worker.convert.source import optional_int, read_config, required_int
from sax_worker.errors import WorkerError
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params, assemble

_CONFIG = "config.json"
_REMEDY = "the published model class must match the checkpoint's dimensions"


def is_hf_checkpoint(path: str) -> bool:
    """Whether ``path`` is a local directory holding ``config.json`` and at least one ``*.safetensors``."""
    if path.startswith("gs://"):
        return False
    directory = Path(path)
    return (directory / _CONFIG).is_file() and any(directory.glob("*.safetensors"))


def load_hf_params(cfg: DecoderConfig, path: str) -> tuple[Params, int]:
    """The serving tree of ``cfg`` (host arrays of its dtype) from the HF checkpoint directory ``path``,
    and the bytes of its safetensors files.

    Only llama-family classes read HF checkpoints; ``config.json`` must describe a LLaMA
    (``model_type`` "llama") of the class's dimensions.
    """
    if cfg.family != "llama":
        raise ValueError(
            f"hugging face checkpoint {path}: only llama-family classes serve Hugging Face checkpoints, "
            f"this class's family is {cfg.family!r}; publish it with a Pax step directory "
            "(…/checkpoint_00000000)"
        )
    try:
        from sax_worker.convert.hf_source import HfSource
        from sax_worker.convert.mapping import build, check, targets
    except ModuleNotFoundError as err:
        if err.name != "torch":
            raise
        raise WorkerError(
            "FAILED_PRECONDITION",
            f"hugging face checkpoint {path}: reading safetensors needs PyTorch (torch), which this "
            "worker's venv does not have; convert it with `python -m sax_worker.convert` and publish the "
            "step directory, or serve from a model server whose venv has requirements.txt",
        ) from err
    config_path = Path(path) / _CONFIG
    try:
        config = read_config(config_path, "Hugging Face checkpoints ship it next to the *.safetensors files")
        _check_llama(config, config_path)
        source = HfSource(config_path.parent)
        _check_dimensions(cfg, config, source.dims, config_path)
        plan = {target.name: target for target in targets(cfg)}
        check(list(plan.values()), source, _REMEDY)
        params = assemble(cfg, lambda name, shape: build(plan[name], source, np.float32))
    except ConvertError as err:
        raise ValueError(f"hugging face checkpoint {path}: {err}") from err
    return params, sum(file.stat().st_size for file in source.files if file.suffix == ".safetensors")


def _check_llama(config: Mapping[str, Any], config_path: Path) -> None:
    """Refuses other model types, whose tensors may share LLaMA's names but not its math."""
    model_type = config.get("model_type")
    if model_type != "llama":
        raise ConvertError(
            f"{config_path} says model_type {model_type!r}; only LLaMA checkpoints "
            '(model_type "llama", LlamaForCausalLM) serve from Hugging Face files'
        )


def _check_dimensions(
    cfg: DecoderConfig, config: Mapping[str, Any], dims: SourceDims, config_path: Path
) -> None:
    """Compares what ``config.json`` states with the class, naming each conflict on both sides.

    Checked before the tensors so that a wrong class is reported in the terms a publisher uses (config
    keys and the class's architecture keys) rather than as one tensor's shape.
    """
    stated = {
        "num_hidden_layers": (dims.num_layers, "numLayers", cfg.num_layers),
        "hidden_size": (required_int(config, "hidden_size", config_path), "modelDims", cfg.model_dims),
        "intermediate_size": (
            optional_int(config, "intermediate_size", config_path),
            "hiddenDims",
            cfg.hidden_dims,
        ),
        "num_attention_heads": (dims.num_heads, "numHeads", cfg.num_heads),
        "num_key_value_heads": (dims.num_kv_heads, "numKvHeads", cfg.num_kv_heads),
        "head_dim": (dims.dims_per_head, "dimsPerHead", cfg.dims_per_head),
        "vocab_size": (dims.vocab_size, "vocabSize", cfg.vocab_size),
    }
    conflicts = [
        f"{key} {theirs} (the class has {ours_key} {ours})"
        for key, (theirs, ours_key, ours) in stated.items()
        if theirs is not None and theirs != ours
    ]
    # Not shapes, but a wrong value would serve wrong text silently: RoPE's base and the norm epsilon.
    floats = {
        "rope_theta": (config.get("rope_theta"), "ropeTheta", cfg.rope_theta),
        "rms_norm_eps": (config.get("rms_norm_eps"), "normEps", cfg.norm_eps),
    }
    conflicts += [
        f"{key} {theirs} (the class has {ours_key} {ours})"
        for key, (theirs, ours_key, ours) in floats.items()
        if isinstance(theirs, int | float) and not math.isclose(theirs, ours, rel_tol=1e-6)
    ]
    if conflicts:
        raise ConvertError(f"{config_path} says {', '.join(conflicts)}; {_REMEDY}")
