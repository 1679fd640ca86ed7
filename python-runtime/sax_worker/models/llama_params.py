"""The LLaMA parameter tree: names and shapes of spec §5.3, seeded random init, flat <-> nested views.

The tree is a nested dict whose path, joined with ".", is the variable name Saxml checkpoints use after the
``mdl_vars.params.`` prefix, e.g. ``lm.transformer.x_layers_0.self_attention.post.w``. Keeping those names
means checkpoints written by Saxml's converters (and by ``checkpoint.save_params``) load without renaming.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from sax_worker.models.llama_config import LlamaConfig

Params = dict[str, Any]
"""A nested dict of arrays; ``flatten_params`` gives the dotted §5.3 names."""


def layer_prefix(layer: int) -> str:
    """The name prefix of one (non-repeated) transformer layer."""
    return f"lm.transformer.x_layers_{layer}"


def param_shapes(cfg: LlamaConfig) -> dict[str, tuple[int, ...]]:
    """Every variable of the tree with its shape, in a stable order (spec §5.3)."""
    d, f, n, k, h, v = (
        cfg.model_dims,
        cfg.hidden_dims,
        cfg.num_heads,
        cfg.num_kv_heads,
        cfg.dims_per_head,
        cfg.vocab_size,
    )
    shapes: dict[str, tuple[int, ...]] = {
        "lm.embedding_lookup.emb_var": (v, d),
        "lm.softmax.logits_ffn.linear.w": (d, v),
        "lm.final_ln.scale": (d,),
    }
    for i in range(cfg.num_layers):
        p = layer_prefix(i)
        shapes[f"{p}.layer_norm.scale"] = (d,)
        if cfg.combined_qkv:
            shapes[f"{p}.self_attention.combined_qkv.w"] = (3, d, n, h)
        else:
            shapes[f"{p}.self_attention.query.w"] = (d, n, h)
            shapes[f"{p}.self_attention.key.w"] = (d, k, h)
            shapes[f"{p}.self_attention.value.w"] = (d, k, h)
        shapes[f"{p}.self_attention.post.w"] = (d, n, h)
        shapes[f"{p}.ff_layer.layer_norm.scale"] = (d,)
        shapes[f"{p}.ff_layer.ffn_layer1_gate.linear.w"] = (d, f)
        shapes[f"{p}.ff_layer.ffn_layer1.linear.w"] = (d, f)
        shapes[f"{p}.ff_layer.ffn_layer2.linear.w"] = (f, d)
    return shapes


def _init_std(name: str, shape: tuple[int, ...]) -> float:
    """1/sqrt(fan-in) keeps every residual-branch output O(1) at init, so random models sample varied text."""
    if name.endswith("emb_var"):
        return 1.0
    if name.endswith("post.w"):
        return float(shape[1] * shape[2]) ** -0.5  # fan-in is N*H
    if name.endswith("combined_qkv.w"):
        return float(shape[1]) ** -0.5
    return float(shape[0]) ** -0.5


def init_params(cfg: LlamaConfig, key: jax.Array) -> Params:
    """Seeded random weights: norm scales 1, matrices normal with std 1/sqrt(fan-in).

    Deterministic in ``key`` on every platform. Values are drawn on the host with NumPy's PCG64 seeded from
    the key's bits, each variable in ``param_shapes`` order, and moved to the device once: drawing with
    ``jax.random`` would compile one program per variable shape, seconds of load time on CPU.
    """
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    dtype = np.dtype(cfg.activation_dtype)
    flat: dict[str, np.ndarray] = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith(".scale"):
            flat[name] = np.ones(shape, dtype)
        else:
            value = rng.standard_normal(shape, dtype=np.float32) * np.float32(_init_std(name, shape))
            flat[name] = value.astype(dtype)
    return jax.device_put(unflatten_params(flat))


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tree -> ``{dotted.name: array}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def unflatten_params(flat: Mapping[str, Any]) -> Params:
    """``{dotted.name: array}`` -> nested tree."""
    tree: Params = {}
    for name, value in flat.items():
        node = tree
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def check_params(cfg: LlamaConfig, flat: Mapping[str, Any], source: str) -> None:
    """Raises ``ValueError`` naming what is missing, unexpected or mis-shaped in ``flat`` (from ``source``).

    Only used for whole trees; the checkpoint loader reports missing arrays itself, before reading any.
    """
    expected = param_shapes(cfg)
    missing = [name for name in expected if name not in flat]
    unexpected = sorted(set(flat) - set(expected))
    wrong = [
        f"{name} {tuple(np.shape(flat[name]))} != {shape}"
        for name, shape in expected.items()
        if name in flat and tuple(np.shape(flat[name])) != shape
    ]
    problems = []
    if missing:
        problems.append(f"missing {_some(missing)}")
    if unexpected:
        problems.append(f"unexpected {_some(unexpected)}")
    if wrong:
        problems.append(f"wrong shapes {_some(wrong)}")
    if problems:
        raise ValueError(f"{source} does not match the llama config: {'; '.join(problems)}")


def _some(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
