"""Hugging Face LLaMA checkpoints (``config.json`` and ``*.safetensors``), read under Meta's names.

HF's weights are Meta's renamed (``model.layers.3.self_attn.q_proj.weight`` is
``layers.3.attention.wq.weight``), whole rather than split over shards, with one real difference: HF's
RoPE rotates the two halves of each head where Meta's (and the servable's) rotates interleaved pairs, so
HF's Meta -> HF conversion moved row 2j of each q and k head to j and row 2j+1 to H/2 + j
(``hf_interop.rope_halves_permutation``). The q and k parts carry that permutation as their row order,
which puts every row back where Meta has it: both inputs convert to the same servable weights. (Saxml's
HF converter skips this, so its output only suits a half-split RoPE.)

Every part comes from a ``safe_open`` handle of its own, dropped with the part, so that a tensor's
memory serves that part alone (see ``source``) and the file's mapping goes with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from safetensors import SafetensorError, safe_open

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.sizes import SourceDims
from sax_worker.convert.source import Part, optional_int, read_config, required_int
from sax_worker.hf_interop import rope_halves_permutation

_GLOBAL_NAMES = {
    "tok_embeddings.weight": "model.embed_tokens.weight",
    "norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_LAYER_NAMES = {
    "attention_norm.weight": "input_layernorm.weight",
    "attention.wq.weight": "self_attn.q_proj.weight",
    "attention.wk.weight": "self_attn.k_proj.weight",
    "attention.wv.weight": "self_attn.v_proj.weight",
    "attention.wo.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "feed_forward.w1.weight": "mlp.gate_proj.weight",
    "feed_forward.w2.weight": "mlp.down_proj.weight",
    "feed_forward.w3.weight": "mlp.up_proj.weight",
}


class HfSource:
    """The safetensors files of one HF checkpoint directory (sharded or not)."""

    def __init__(self, path: Path) -> None:
        self._config = path / "config.json"
        config = read_config(self._config, "Hugging Face checkpoints ship it next to the *.safetensors files")
        hidden, heads = (
            required_int(config, key, self._config) for key in ("hidden_size", "num_attention_heads")
        )
        kv_heads = optional_int(config, "num_key_value_heads", self._config) or heads
        head_dims = optional_int(config, "head_dim", self._config) or hidden // heads
        self.dims = SourceDims(
            file=str(self._config),
            num_layers=required_int(config, "num_hidden_layers", self._config),
            num_heads=heads,
            num_kv_heads=kv_heads,
            dims_per_head=head_dims,
            vocab_size=optional_int(config, "vocab_size", self._config),
        )
        # A tied model (LLaMA-3.2 1B) has no lm_head: its output projection is the embedding table.
        self._tied = config.get("tie_word_embeddings") is True
        self._row_orders = {
            "attention.wq.weight": rope_halves_permutation(heads, head_dims),
            "attention.wk.weight": rope_halves_permutation(kv_heads, head_dims),
        }
        self._files = sorted(path.glob("*.safetensors"))
        self._index: dict[str, tuple[Path, tuple[int, ...]]] = {}
        for file in self._files:
            with _open(file) as handle:
                for key in handle.keys():  # noqa: SIM118 (a safe_open handle is not a mapping)
                    self._index[key] = (file, tuple(handle.get_slice(key).get_shape()))
        self.description = f"Hugging Face checkpoint {path} ({len(self._files)} safetensors files)"

    @property
    def files(self) -> Sequence[Path]:
        return [*self._files, self._config]

    def shard_shapes(self, name: str) -> list[tuple[int, ...]]:
        return [self._index[self._hf_name(name)][1]]

    def parts(self, name: str, count: int) -> Iterator[Part]:
        hf_name = self._hf_name(name)
        file = self._index[hf_name][0]
        with _open(file) as handle:
            tensor = handle.get_tensor(hf_name)
        row_order = self._row_orders.get(name.split(".", 2)[-1]) if name.startswith("layers.") else None
        yield Part(tensor, row_order)

    def _hf_name(self, name: str) -> str:
        """HF's name for Meta's ``name``; ``ConvertError`` when no safetensors file holds it."""
        if name.startswith("layers."):
            _, layer, rest = name.split(".", 2)
            candidates = [f"model.layers.{layer}.{_LAYER_NAMES[rest]}"]
        else:
            candidates = [_GLOBAL_NAMES[name]]
            if name == "output.weight" and self._tied:
                candidates.append(_GLOBAL_NAMES["tok_embeddings.weight"])
        for candidate in candidates:
            if candidate in self._index:
                return candidate
        raise ConvertError(
            f"no *.safetensors file next to {self._config} holds {candidates[0]} (Meta's {name}); "
            "is this a LlamaForCausalLM checkpoint, and does --model-size match it?"
        )


def _open(file: Path) -> safe_open:
    try:
        return safe_open(file, framework="pt")
    except (SafetensorError, OSError) as err:
        raise ConvertError(f"cannot read {file} as safetensors: {err}") from err
