"""A decoder's parameters: the serving tree, the device tree the math reads, and their mapping to
checkpoint names (§5.3).

The serving tree, as loaded, saved and drawn on the host, keeps every per-layer weight stacked along a
leading layer axis::

    {"embedding": [V, D] (untied families), "softmax": [D, V], "final_norm": {"scale", "bias"?},
     "layers": {"attn_norm": {...}, "qkv" | "q", "k", "v", "per_dim_scale"?, "post",
                "ffn_norm": {...}, "gate"?, "up", "up_bias"?, "down", "down_bias"?}}

The device tree (``device_tree``) is what the decoder's math reads. It differs from the serving tree in
two ways, both for XLA's CPU backend, which is slow at the alternatives:

- ``layers`` is a tuple of one such dict per layer, each weight its own array, and the decoder runs its
  layers one after another over them. (Run as a loop over a stacked array, XLA copies every layer's
  weights out of the stack at every step, which doubled a small model's decode time.)
- A variable with ``device_axes`` has its axes in that order: ``post`` is [N, H, D], so that every
  projection multiplies by a matrix whose rows are its inputs. (A vector times a transposed [512, 512]
  matrix takes XLA about seven times as long: 0.35 ms of BenchLlama45M's 4.5 ms batch-1 step.)

Checkpoints use Saxml's variable names (after ``mdl_vars.params.``): LLaMA stores one
``lm.transformer.x_layers_<i>.…`` group per layer, LmCloud one stacked
``lm.transformer.repeat.sub.x_layers_0.…`` group. ``variables`` lists each serving-tree entry with its
checkpoint name, so loading, saving, sharding and random init all derive from one table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import numpy as np

from sax_worker.models.decoder_config import DecoderConfig

Params = dict[str, Any]
"""The serving tree (see the module docstring)."""


@dataclasses.dataclass(frozen=True)
class Variable:
    """One weight: where it sits in the serving tree and what a checkpoint calls it."""

    path: tuple[str, ...]  # keys in the serving tree
    checkpoint: str  # full name (global) or the name inside a layer group (per layer)
    shape: tuple[int, ...]  # without the layer axis
    per_layer: bool
    init: str  # "ones", "zeros" or "normal" (std = init_std)
    init_std: float = 0.0
    model_axis: int | None = None  # axis of ``shape`` split over the mesh's model axis (heads, F or V)
    device_axes: tuple[int, ...] | None = None  # order of ``shape``'s axes in the device tree; None: as is

    @property
    def device_order(self) -> tuple[int, ...]:
        """``shape``'s axes in their device-tree order."""
        return self.device_axes or tuple(range(len(self.shape)))

    def to_device(self, array: Any) -> Any:
        """One layer's (or a global's) array as the device tree holds it."""
        return array if self.device_axes is None else array.transpose(self.device_axes)

    def from_device(self, array: Any) -> Any:
        """The inverse of ``to_device``."""
        return array if self.device_axes is None else array.transpose(np.argsort(self.device_axes))


def variables(cfg: DecoderConfig) -> list[Variable]:
    """Every weight of ``cfg``'s decoder, globals first, in a stable order."""
    d, f, n, k, h, v = (
        cfg.model_dims,
        cfg.hidden_dims,
        cfg.num_heads,
        cfg.num_kv_heads,
        cfg.dims_per_head,
        cfg.vocab_size,
    )
    # LayerNorm scales are offsets (applied as 1 + scale), so they start at 0; RMSNorm scales at 1.
    scale_init = "zeros" if cfg.layer_norm else "ones"

    def norm(path: tuple[str, ...], name: str, per_layer: bool) -> list[Variable]:
        out = [Variable((*path, "scale"), f"{name}.scale", (d,), per_layer, scale_init)]
        if cfg.layer_norm:
            out.append(Variable((*path, "bias"), f"{name}.bias", (d,), per_layer, "zeros"))
        return out

    def layer(
        key: str,
        name: str,
        shape: tuple[int, ...],
        split: int | None,
        init: str = "normal",
        fan_in: int = 0,
        device_axes: tuple[int, ...] | None = None,
    ) -> Variable:
        std = float(fan_in) ** -0.5 if fan_in else 0.0
        return Variable(("layers", key), name, shape, True, init, std, split, device_axes)

    out: list[Variable] = []
    if not cfg.tied_embeddings:
        out.append(Variable(("embedding",), "lm.embedding_lookup.emb_var", (v, d), False, "normal", 1.0, 0))
    out.append(Variable(("softmax",), "lm.softmax.logits_ffn.linear.w", (d, v), False, "normal", d**-0.5, 1))
    out += norm(("final_norm",), "lm.final_ln", per_layer=False)
    out += norm(("layers", "attn_norm"), "layer_norm", per_layer=True)
    if cfg.combined_qkv:
        out.append(layer("qkv", "self_attention.combined_qkv.w", (3, d, n, h), 2, fan_in=d))
    else:
        out.append(layer("q", "self_attention.query.w", (d, n, h), 1, fan_in=d))
        out.append(layer("k", "self_attention.key.w", (d, k, h), 1, fan_in=d))
        out.append(layer("v", "self_attention.value.w", (d, k, h), 1, fan_in=d))
    if cfg.per_dim_scale:
        out.append(layer("per_dim_scale", "self_attention.per_dim_scale.per_dim_scale", (h,), None, "zeros"))
    out.append(layer("post", "self_attention.post.w", (d, n, h), 1, fan_in=n * h, device_axes=(1, 2, 0)))
    out += norm(("layers", "ffn_norm"), "ff_layer.layer_norm", per_layer=True)
    if cfg.gated_ffn:
        out.append(layer("gate", "ff_layer.ffn_layer1_gate.linear.w", (d, f), 1, fan_in=d))
    out.append(layer("up", "ff_layer.ffn_layer1.linear.w", (d, f), 1, fan_in=d))
    if not cfg.gated_ffn:
        out.append(layer("up_bias", "ff_layer.ffn_layer1.bias.b", (f,), 0, "zeros"))
    out.append(layer("down", "ff_layer.ffn_layer2.linear.w", (f, d), 0, fan_in=f))
    if not cfg.gated_ffn:
        out.append(layer("down_bias", "ff_layer.ffn_layer2.bias.b", (d,), None, "zeros"))
    return out


def layer_prefix(cfg: DecoderConfig, layer: int) -> str:
    """The checkpoint name prefix of a layer group: per layer (LLaMA) or the one stacked group."""
    if cfg.stacked_checkpoint:
        return "lm.transformer.repeat.sub.x_layers_0"
    return f"lm.transformer.x_layers_{layer}"


def checkpoint_entries(cfg: DecoderConfig) -> Iterator[tuple[str, tuple[int, ...], Variable, int | None]]:
    """(checkpoint name, stored shape, variable, layer or None for whole arrays) for every stored array."""
    for var in variables(cfg):
        if not var.per_layer:
            yield var.checkpoint, var.shape, var, None
        elif cfg.stacked_checkpoint:
            yield f"{layer_prefix(cfg, 0)}.{var.checkpoint}", (cfg.num_layers, *var.shape), var, None
        else:
            for i in range(cfg.num_layers):
                yield f"{layer_prefix(cfg, i)}.{var.checkpoint}", var.shape, var, i


def checkpoint_shapes(cfg: DecoderConfig) -> dict[str, tuple[int, ...]]:
    """Every array a checkpoint of ``cfg`` holds, by name, with its shape."""
    return {name: shape for name, shape, _, _ in checkpoint_entries(cfg)}


def serving_shape(cfg: DecoderConfig, var: Variable) -> tuple[int, ...]:
    """A variable's shape in the serving tree (per-layer ones stacked)."""
    return (cfg.num_layers, *var.shape) if var.per_layer else var.shape


def assemble(cfg: DecoderConfig, read: Callable[[str, tuple[int, ...]], np.ndarray]) -> Params:
    """The serving tree (host arrays of the config's dtype) from ``read(checkpoint name, shape)``.

    Per-layer arrays of a per-layer checkpoint are read one at a time into a preallocated stack, so host
    memory holds the model once plus one layer's array.
    """
    dtype = np.dtype(cfg.activation_dtype)
    flat: dict[tuple[str, ...], np.ndarray] = {}
    for name, shape, var, layer in checkpoint_entries(cfg):
        if layer is None:
            flat[var.path] = np.asarray(read(name, shape), dtype)
            continue
        if var.path not in flat:
            flat[var.path] = np.empty(serving_shape(cfg, var), dtype)
        flat[var.path][layer] = read(name, shape)
    return _nest(flat)


def device_tree(
    cfg: DecoderConfig, params: Params, put: Callable[[Variable, Any], Any] = lambda _, array: array
) -> Params:
    """The device tree of a serving tree (see the module docstring): per-layer dicts of views of the stack,
    each weight with its ``device_axes`` (a transposed view; ``jax.device_put`` lays it out in order), and
    passed through ``put(variable, array)`` (which ``mesh.place_params`` uses to place it)."""

    def leaf(var: Variable, array: Any) -> Any:
        return put(var, var.to_device(array))

    per_layer = [var for var in variables(cfg) if var.per_layer]
    layers = tuple(
        _nest({var.path[1:]: leaf(var, _get(params, var.path)[i]) for var in per_layer})
        for i in range(cfg.num_layers)
    )
    whole = {var.path: leaf(var, _get(params, var.path)) for var in variables(cfg) if not var.per_layer}
    return {**_nest(whole), "layers": layers}


def to_checkpoint(cfg: DecoderConfig, params: Params) -> dict[str, np.ndarray]:
    """``{checkpoint name: host array}`` of a serving or device tree (per-layer checkpoints unstacked)."""
    out = {}
    for name, _, var, layer in checkpoint_entries(cfg):
        if not var.per_layer:
            out[name] = np.asarray(_get(params, var.path))
        elif isinstance(params["layers"], tuple):  # a device tree
            per_layer = [var.from_device(np.asarray(_get(lp, var.path[1:]))) for lp in params["layers"]]
            out[name] = np.stack(per_layer) if layer is None else per_layer[layer]
        else:
            value = np.asarray(_get(params, var.path))
            out[name] = value if layer is None else value[layer]
    return out


def init_params(cfg: DecoderConfig, key: jax.Array) -> Params:
    """Seeded random host weights: norm scales neutral, biases 0, matrices normal with std 1/sqrt(fan-in).

    Deterministic in ``key`` on every platform. Values are drawn with NumPy's PCG64 seeded from the key's
    bits, one variable at a time in ``variables`` order (drawing with ``jax.random`` would compile one
    program per shape, seconds of load time on CPU), one layer at a time into a preallocated stack, so
    the float32 draw never holds more than one layer's slice on top of the model.
    """
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    dtype = np.dtype(cfg.activation_dtype)
    flat: dict[tuple[str, ...], np.ndarray] = {}
    for var in variables(cfg):
        shape = serving_shape(cfg, var)
        if var.init == "ones":
            flat[var.path] = np.ones(shape, dtype)
        elif var.init == "zeros":
            flat[var.path] = np.zeros(shape, dtype)
        else:
            out = np.empty(shape, dtype)
            for index in range(cfg.num_layers) if var.per_layer else [...]:
                draw = rng.standard_normal(var.shape, dtype=np.float32)
                draw *= np.float32(var.init_std)
                out[index] = draw
            flat[var.path] = out
    return _nest(flat)


def num_params(cfg: DecoderConfig) -> int:
    """Number of scalars in ``cfg``'s decoder."""
    return sum(int(np.prod(shape)) for shape in checkpoint_shapes(cfg).values())


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tree -> ``{dotted.name: array}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _nest(flat: Mapping[tuple[str, ...], Any]) -> Params:
    tree: Params = {}
    for path, value in flat.items():
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _get(params: Params, path: tuple[str, ...]) -> Any:
    node: Any = params
    for part in path:
        node = node[part]
    return node
