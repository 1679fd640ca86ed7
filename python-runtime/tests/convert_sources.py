"""Tiny random LLaMA checkpoints in Meta's and Hugging Face's formats, for the converter's tests.

``llama_weights`` draws one set of weights under Meta's names, unsplit. ``write_meta`` splits them the
way Meta's model-parallel code saves them (column-parallel wq, wk, wv, w1, w3 and output along their
rows, row-parallel wo and w2 along their columns, the embedding along D as in LLaMA-1/2 or along the
vocabulary as in LLaMA-3, norms replicated): one ``consolidated.NN.pth`` per shard, and ``params.json``.
``write_hf`` loads them into a transformers ``LlamaForCausalLM`` (strictly, so every name is HF's own),
with the q/k rows permuted for HF's half-split RoPE the way HF's conversion script does it, and saves it
with ``save_pretrained`` as sharded bfloat16 safetensors. Both writers are independent of the converter.

Values are bfloat16 numbers that float16 holds exactly (magnitudes below float16's smallest normal
flushed to zero), so both formats convert without rounding and a float32 reference model computes with
exactly the weights the servable serves.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from sax_worker.hf_interop import hf_config
from sax_worker.models.decoder_config import DecoderConfig

_ROW_SPLIT = ("attention.wq", "attention.wk", "attention.wv", "feed_forward.w1", "feed_forward.w3")
_COLUMN_SPLIT = ("attention.wo", "feed_forward.w2")
_ARCHITECTURE_KEYS = (
    "numLayers",
    "modelDims",
    "hiddenDims",
    "numHeads",
    "numKvHeads",
    "dimsPerHead",
    "vocabSize",
)


@dataclasses.dataclass(frozen=True)
class LlamaDims:
    """L, D, F, N, K, H, V of a test model."""

    num_layers: int
    model_dims: int
    hidden_dims: int
    num_heads: int
    num_kv_heads: int
    dims_per_head: int
    vocab_size: int

    @classmethod
    def of(cls, architecture: dict) -> LlamaDims:
        """The dims of a registry LLaMA architecture (camelCase keys)."""
        return cls(*(architecture[key] for key in _ARCHITECTURE_KEYS))

    def architecture(self, use_mqa: bool) -> dict:
        """A float32 LLaMA architecture of these dims, as a servable config names it."""
        shape = dict(zip(_ARCHITECTURE_KEYS, dataclasses.astuple(self), strict=True))
        return {"family": "llama", **shape, "useMqa": use_mqa, "dtype": "float32"}

    def decoder_config(self, use_mqa: bool) -> DecoderConfig:
        return DecoderConfig(**dataclasses.asdict(self), use_mqa=use_mqa, dtype="float32")


def llama_weights(dims: LlamaDims, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random bfloat16 weights under Meta's names: matrices with std 1/sqrt(fan-in), norms around 1."""
    generator = torch.Generator().manual_seed(seed)
    d, f = dims.model_dims, dims.hidden_dims
    q, kv = dims.num_heads * dims.dims_per_head, dims.num_kv_heads * dims.dims_per_head

    def matrix(rows: int, cols: int, std: float | None = None) -> torch.Tensor:
        x = (torch.randn(rows, cols, generator=generator) * (std or cols**-0.5)).to(torch.bfloat16)
        return torch.where(x.abs() < 2**-14, 0, x)

    def norm() -> torch.Tensor:
        return (1 + 0.2 * torch.randn(d, generator=generator)).to(torch.bfloat16)

    weights = {"tok_embeddings.weight": matrix(dims.vocab_size, d, std=1.0), "norm.weight": norm()}
    weights["output.weight"] = matrix(dims.vocab_size, d)
    for i in range(dims.num_layers):
        shapes = {"wq": (q, d), "wk": (kv, d), "wv": (kv, d), "wo": (d, q)}
        weights |= {f"layers.{i}.attention.{w}.weight": matrix(*shape) for w, shape in shapes.items()}
        shapes = {"w1": (f, d), "w2": (d, f), "w3": (f, d)}
        weights |= {f"layers.{i}.feed_forward.{w}.weight": matrix(*shape) for w, shape in shapes.items()}
        weights[f"layers.{i}.attention_norm.weight"] = norm()
        weights[f"layers.{i}.ffn_norm.weight"] = norm()
    return weights


def write_meta(
    path: Path, dims: LlamaDims, weights: dict[str, torch.Tensor], shards: int, vocab_split: bool = False
) -> Path:
    """``weights`` as Meta's ``consolidated.NN.pth`` shards and ``params.json`` in ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    for shard in range(shards):
        state = {}
        for name, tensor in weights.items():
            axis = _split_axis(name, vocab_split)
            part = tensor if axis is None else torch.tensor_split(tensor, shards, dim=axis)[shard]
            state[name] = part.clone()  # its own storage: torch.save writes a view's whole storage
        torch.save(state, path / f"consolidated.{shard:02d}.pth")
    params = {
        "dim": dims.model_dims,
        "n_layers": dims.num_layers,
        "n_heads": dims.num_heads,
        "n_kv_heads": dims.num_kv_heads,
        "vocab_size": dims.vocab_size,
        "multiple_of": 256,
        "norm_eps": 1e-5,
        "rope_theta": 10000.0,
    }
    (path / "params.json").write_text(json.dumps(params))
    return path


def write_hf(
    path: Path,
    dims: LlamaDims,
    weights: dict[str, torch.Tensor],
    max_shard_size: str = "2MB",
    tied: bool = False,
) -> Path:
    """``weights`` as a Hugging Face checkpoint (``save_pretrained``: safetensors shards and config.json).

    ``tied``: the output projection is the embedding table, and the files hold no ``lm_head`` (as
    LLaMA-3.2 1B's); ``weights`` must then have equal ``output`` and ``tok_embeddings``.
    """
    import transformers

    config = hf_config(dims.decoder_config(use_mqa=True))
    config.tie_word_embeddings = tied
    with torch.device("cpu"):
        model = transformers.LlamaForCausalLM(config)
    model.load_state_dict(_hf_state_dict(dims, weights), strict=True)
    model.to(torch.bfloat16).save_pretrained(path, max_shard_size=max_shard_size)
    return path


def _split_axis(name: str, vocab_split: bool) -> int | None:
    if name == "tok_embeddings.weight":
        return 0 if vocab_split else 1
    if name == "output.weight" or any(f".{w}." in name for w in _ROW_SPLIT):
        return 0
    if any(f".{w}." in name for w in _COLUMN_SPLIT):
        return 1
    return None  # norms: every shard has a copy


def _hf_state_dict(dims: LlamaDims, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    def rope_halves(w: torch.Tensor, heads: int) -> torch.Tensor:
        """HF's ``permute`` in convert_llama_weights_to_hf.py: per head, pairs (2j, 2j+1) -> (j, H/2 + j)."""
        h = dims.dims_per_head
        return w.view(heads, h // 2, 2, -1).transpose(1, 2).reshape(heads * h, -1)

    state = {
        "model.embed_tokens.weight": weights["tok_embeddings.weight"],
        "model.norm.weight": weights["norm.weight"],
        "lm_head.weight": weights["output.weight"],
    }
    for i in range(dims.num_layers):
        meta, hf = f"layers.{i}", f"model.layers.{i}"
        state |= {
            f"{hf}.self_attn.q_proj.weight": rope_halves(
                weights[f"{meta}.attention.wq.weight"], dims.num_heads
            ),
            f"{hf}.self_attn.k_proj.weight": rope_halves(
                weights[f"{meta}.attention.wk.weight"], dims.num_kv_heads
            ),
            f"{hf}.self_attn.v_proj.weight": weights[f"{meta}.attention.wv.weight"],
            f"{hf}.self_attn.o_proj.weight": weights[f"{meta}.attention.wo.weight"],
            f"{hf}.mlp.gate_proj.weight": weights[f"{meta}.feed_forward.w1.weight"],
            f"{hf}.mlp.up_proj.weight": weights[f"{meta}.feed_forward.w3.weight"],
            f"{hf}.mlp.down_proj.weight": weights[f"{meta}.feed_forward.w2.weight"],
            f"{hf}.input_layernorm.weight": weights[f"{meta}.attention_norm.weight"],
            f"{hf}.post_attention_layernorm.weight": weights[f"{meta}.ffn_norm.weight"],
        }
    return {name: tensor.float() for name, tensor in state.items()}


def hf_reference_model(path: Path):
    """The checkpoint in ``path`` as transformers loads it: float32, eager attention, CPU, eval mode."""
    import transformers

    return transformers.LlamaForCausalLM.from_pretrained(
        path, dtype=torch.float32, attn_implementation="eager"
    ).eval()
