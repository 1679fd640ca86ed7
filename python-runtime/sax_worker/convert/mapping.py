"""Which source tensors make each servable variable, and how shards merge into it (spec data-plane §5.5).

Targets come from ``decoder_params.checkpoint_entries``, the table the servable loads by, so the names
and shapes written are exactly those ``load_params`` asks for. ``RECIPES`` says where each variable's
values sit in a Meta checkpoint (Meta orientation is [out, in], ours [in, out]; per-layer names
without ``lm.transformer.x_layers_i.``):

| §5.3 variable                              | Meta tensor               | shards split   | becomes      |
|--------------------------------------------|---------------------------|----------------|--------------|
| lm.embedding_lookup.emb_var [V, D]         | tok_embeddings [V', D]    | D, or V' (L-3) | first V rows |
| lm.softmax.logits_ffn.linear.w [D, V]      | output [V', D]            | V'             | ᵀ, first V   |
| lm.final_ln.scale [D]                      | norm                      | replicated     | as is        |
| (ff_layer.)layer_norm.scale                | attention_norm / ffn_norm | replicated     | as is        |
| self_attention.query/key/value.w [D, ·, H] | wq / wk / wv [·H, D]      | rows           | ᵀ, [D, ·, H] |
| self_attention.combined_qkv.w [3, D, N, H] | wq, wk, wv                | rows           | ᵀ, stacked   |
| self_attention.post.w [D, N, H]            | wo [D, N·H]               | columns        | [D, N, H]    |
| ff_layer.ffn_layer1_gate/ffn_layer1 [D, F] | w1 / w3 [F, D]            | rows           | ᵀ            |
| ff_layer.ffn_layer2.linear.w [F, D]        | w2 [D, F]                 | columns        | ᵀ            |

No RoPE permutation: Meta's interleaved pairs are the servable's. ``build`` preallocates the output
(float16 for the converter, float32 for ``models.hf_checkpoint``) and copies each part into its block
chunk by chunk (torch's ``copy_`` casts and transposes on the way) and releasing the source pages it has
copied, so a variable costs little more than its output: never a merged copy of the source, nor a whole
part's pages.
(L-3: LLaMA-3 splits its embedding along the vocabulary.)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import torch

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.memory import release_pages
from sax_worker.convert.sizes import ModelSize
from sax_worker.convert.source import Part, Source
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import checkpoint_entries

#: The stored dtype, as Saxml's converter writes it; the servable casts to its own on load.
STORED_DTYPE = np.float16
#: What the converter's shape mismatches tell its user to change.
SIZE_REMEDY = "check --model-size (or a custom size's flags)"
# Source bytes copied at a time (a cast or reordered chunk is materialised once).
_CHUNK_BYTES = 4 << 20


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Where one block of a variable comes from in a Meta checkpoint."""

    tensor: str  # Meta's name; "{layer}" stands for the layer index
    split_axis: int | None  # axis (Meta orientation) the shards split; None: Meta's embedding rule
    transpose: bool = False  # Meta's [out, in] becomes our [in, out]
    replicated: bool = False  # every shard holds the same copy: read shard 0
    vocab_rows: bool = False  # rows are the vocabulary: a longer (padded) source keeps its first V


def _layer(tensor: str, split_axis: int | None = 0, **kwargs: bool) -> Recipe:
    return Recipe(f"layers.{{layer}}.{tensor}.weight", split_axis, **kwargs)


_WQ, _WK, _WV = (_layer(f"attention.{w}", transpose=True) for w in ("wq", "wk", "wv"))

#: Keyed by ``decoder_params.Variable.checkpoint``; several recipes fill the leading axis block by block.
RECIPES: Mapping[str, tuple[Recipe, ...]] = {
    "lm.embedding_lookup.emb_var": (Recipe("tok_embeddings.weight", None, vocab_rows=True),),
    "lm.softmax.logits_ffn.linear.w": (Recipe("output.weight", 0, transpose=True, vocab_rows=True),),
    "lm.final_ln.scale": (Recipe("norm.weight", 0, replicated=True),),
    "layer_norm.scale": (_layer("attention_norm", replicated=True),),
    "self_attention.combined_qkv.w": (_WQ, _WK, _WV),
    "self_attention.query.w": (_WQ,),
    "self_attention.key.w": (_WK,),
    "self_attention.value.w": (_WV,),
    "self_attention.post.w": (_layer("attention.wo", 1),),
    "ff_layer.layer_norm.scale": (_layer("ffn_norm", replicated=True),),
    "ff_layer.ffn_layer1_gate.linear.w": (_layer("feed_forward.w1", transpose=True),),
    "ff_layer.ffn_layer1.linear.w": (_layer("feed_forward.w3", transpose=True),),
    "ff_layer.ffn_layer2.linear.w": (_layer("feed_forward.w2", 1, transpose=True),),
}


@dataclasses.dataclass(frozen=True)
class Target:
    """One array of the output checkpoint and the recipes of its blocks."""

    name: str  # §5.3 name, without ``mdl_vars.params.``
    shape: tuple[int, ...]
    recipes: tuple[Recipe, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(STORED_DTYPE).itemsize


def decoder_config(size: ModelSize, source: Source) -> DecoderConfig:
    """The servable architecture of the converted model: ``size`` with D and F read off the tensors."""
    model_dims = source.shard_shapes("norm.weight")[0][0]
    hidden_dims = sum(shape[0] for shape in source.shard_shapes("layers.0.feed_forward.w1.weight"))
    try:
        return DecoderConfig(
            num_layers=size.num_layers,
            model_dims=model_dims,
            hidden_dims=hidden_dims,
            num_heads=size.num_heads,
            num_kv_heads=size.num_kv_heads,
            dims_per_head=size.dims_per_head,
            vocab_size=size.vocab_size,
            use_mqa=not size.combined_qkv,
            dtype="float32",
        )
    except ValueError as err:
        raise ConvertError(f"the model size does not describe a servable LLaMA: {err}") from err


def targets(cfg: DecoderConfig) -> list[Target]:
    """Every array the servable loads for ``cfg``, in ``checkpoint_entries`` order."""
    return [
        Target(name, shape, tuple(_at(recipe, layer) for recipe in RECIPES[var.checkpoint]))
        for name, shape, var, layer in checkpoint_entries(cfg)
    ]


def check(plan: Sequence[Target], source: Source, remedy: str = SIZE_REMEDY) -> None:
    """Checks every target's source tensors exist with fitting shapes, before anything is written.

    ``remedy`` ends a shape mismatch's message: what the caller's user should change (the converter's
    ``--model-size``; the published class, for a servable reading the source directly).
    """
    for target in plan:
        for recipe in target.recipes:
            _layout(source, recipe, _wanted(target, recipe), remedy)


def build(target: Target, source: Source, dtype: npt.DTypeLike = STORED_DTYPE) -> np.ndarray:
    """``target``'s array as ``dtype``, merged from the source's parts.

    @default float16, what the converter stores; a servable reading the source directly passes float32 so
    that serving keeps the source's precision and casts once to its own dtype. Either way a value the
    output cannot hold (an overflow, or an inf or NaN already in the source) is refused here rather than
    served as garbage.
    """
    out = np.empty(target.shape, dtype)
    blocks = list(out) if len(target.recipes) > 1 else [out]
    for block, recipe in zip(blocks, target.recipes, strict=True):
        dest = torch.from_numpy(block.reshape(_block_shape(target)))
        want = dest.T if recipe.transpose else dest  # the same memory, in Meta's orientation
        axis, count = _layout(source, recipe, (want.shape[0], want.shape[1]))
        offset = 0
        for part in source.parts(recipe.tensor, count):
            offset += _copy(part, want, axis, offset)
    if not _all_finite(out):
        kind = out.dtype.name
        raise ConvertError(
            f"{target.name} has values {kind} cannot hold (beyond ±{np.finfo(out.dtype).max:g}, or NaN) "
            f"in the source; this checkpoint cannot be converted to {kind}"
        )
    return out


def _at(recipe: Recipe, layer: int | None) -> Recipe:
    return dataclasses.replace(recipe, tensor=recipe.tensor.format(layer=layer))


def _block_shape(target: Target) -> tuple[int, int]:
    """The 2-D shape (ours: [in, out]) of the block each of ``target``'s recipes fills."""
    block = target.shape[1:] if len(target.recipes) > 1 else target.shape
    return (block[0], math.prod(block[1:])) if len(block) > 1 else (1, block[0])


def _wanted(target: Target, recipe: Recipe) -> tuple[int, int]:
    """The merged source shape ``recipe`` needs, in Meta's orientation."""
    rows, cols = _block_shape(target)
    return (cols, rows) if recipe.transpose else (rows, cols)


def _layout(
    source: Source, recipe: Recipe, want: tuple[int, int], remedy: str = SIZE_REMEDY
) -> tuple[int, int]:
    """(split axis, parts to read) of ``recipe.tensor``; ``ConvertError`` unless it merges to ``want``."""
    shapes = source.shard_shapes(recipe.tensor)
    vector = len(shapes[0]) == 1
    flat = [_as_2d(recipe.tensor, shape) for shape in shapes[: 1 if recipe.replicated else None]]
    axis = recipe.split_axis
    if axis is None:  # LLaMA-1/2 split the embedding along D (each shard has every row), LLaMA-3 along V
        axis = 1 if sum(shape[1] for shape in flat) == want[1] else 0
    if any(shape[1 - axis] != flat[0][1 - axis] for shape in flat):
        raise ConvertError(
            f"the shards of {source.description} disagree on {recipe.tensor}: shapes "
            f"{[list(shape) for shape in shapes]} should differ only along axis {axis}"
        )
    total = sum(shape[axis] for shape in flat)
    merged = (total, flat[0][1]) if axis == 0 else (flat[0][0], total)
    rows_fit = merged[0] == want[0] or (recipe.vocab_rows and merged[0] > want[0])
    if merged[1] != want[1] or not rows_fit:
        merging = f" (merged from {len(flat)} shards along axis {axis})" if len(flat) > 1 else ""
        shown, needed = ([merged[1]], [want[1]]) if vector else (list(merged), list(want))
        raise ConvertError(
            f"{recipe.tensor} in {source.description} has shape {shown}{merging}, but the model size "
            f"needs {needed}; {remedy}"
        )
    return axis, len(flat)


def _as_2d(name: str, shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return 1, shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    raise ConvertError(f"{name} should be a vector or a matrix, but has shape {list(shape)}")


def _all_finite(out: np.ndarray) -> bool:
    """``np.isfinite(out).all()`` a chunk at a time (the whole mask would add half the array's size)."""
    flat = out.reshape(-1)
    step = _CHUNK_BYTES // flat.itemsize
    return all(np.isfinite(flat[start : start + step]).all() for start in range(0, flat.size, step))


def _copy(part: Part, dest: torch.Tensor, axis: int, offset: int) -> int:
    """Copies ``part`` into ``dest`` at ``offset`` along ``axis``; returns its extent along ``axis``.

    Rows past the end of ``dest`` (a padded vocabulary) are dropped.
    """
    matrix = part.tensor.reshape(-1, part.tensor.shape[-1])  # [rows, cols]
    rows, cols = matrix.shape
    row0, col0 = (offset, 0) if axis == 0 else (0, offset)
    kept = min(rows, dest.shape[0] - row0)
    step = max(1, _CHUNK_BYTES // (cols * matrix.element_size()))
    for start in range(0, kept, step):
        stop = min(start + step, kept)
        if part.row_order is None:
            dest[row0 + start : row0 + stop, col0 : col0 + cols].copy_(matrix[start:stop])
        else:
            at = torch.from_numpy(part.row_order[start:stop]) + row0
            dest[at, col0 : col0 + cols] = matrix[start:stop].to(dest.dtype)
        release_pages(matrix[start:stop])
    return rows if axis == 0 else cols
