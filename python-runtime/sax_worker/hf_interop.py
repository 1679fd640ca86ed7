"""Our LLaMA weights as a Hugging Face ``LlamaForCausalLM`` on the CPU in float32 (spec data-plane §5.3).

The parity tests and ``bench_baselines`` use this to run transformers on exactly the weights a worker
serves. ``checkpoint_arrays`` turns a serving tree into the §5.3 variables
(``{"lm.embedding_lookup.emb_var": [V, D], …}``); ``hf_config`` maps a LLaMA-family ``DecoderConfig`` to
transformers' config and ``hf_state_dict`` maps the §5.3 names to HF's weight names.

Both models compute the same function, except that HF's RoPE rotates the two halves of each head
([x1, x2] -> [x1 cos - x2 sin, x2 cos + x1 sin]) while ours and Meta's rotate interleaved pairs
(2j, 2j+1). HF's own Meta -> HF conversion reconciles the two by permuting the output rows of the q and k
projections within each head, so that row 2j lands at j and row 2j+1 at H/2 + j; q·k is unchanged because
q and k get the same permutation. ``hf_state_dict`` applies that permutation, so agreement with HF checks
our interleaved RoPE rather than bypassing it.

torch and transformers are imported inside the functions that need them: the worker package imports
without either installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params, to_checkpoint

if TYPE_CHECKING:
    import torch
    import transformers

# LLaMA-3.1's context; HF requires it to exceed the scaling's original_max_position_embeddings.
_SCALED_MAX_POSITIONS = 131_072
_MAX_POSITIONS = 8192


def checkpoint_arrays(cfg: DecoderConfig, params: Params) -> dict[str, np.ndarray]:
    """Our serving tree as ``{§5.3 name: float32 host array}`` (writable copies)."""
    return {name: np.array(value, np.float32) for name, value in to_checkpoint(cfg, params).items()}


def hf_config(cfg: DecoderConfig) -> transformers.LlamaConfig:
    """transformers' config of the same architecture: untied output, no biases, eager attention.

    Only the LLaMA family has a transformers twin here; others raise ``ValueError``.
    """
    import transformers

    if cfg.family != "llama":
        raise ValueError(
            f"hugging face conversion: family {cfg.family!r} has no LlamaForCausalLM equivalent; "
            "use a llama-family config"
        )
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": cfg.rope_theta}
    if cfg.rope_scaling is not None:
        s = cfg.rope_scaling
        rope |= {
            "rope_type": "llama3",
            "factor": s.factor,
            "low_freq_factor": s.low_freq_factor,
            "high_freq_factor": s.high_freq_factor,
            "original_max_position_embeddings": s.original_max_positions,
        }
    return transformers.LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.model_dims,
        intermediate_size=cfg.hidden_dims,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        head_dim=cfg.dims_per_head,
        hidden_act="silu",
        max_position_embeddings=_SCALED_MAX_POSITIONS if cfg.rope_scaling else _MAX_POSITIONS,
        rms_norm_eps=cfg.norm_eps,
        # transformers 5 names the RoPE settings (theta, type, llama3 scaling) `rope_parameters`.
        rope_parameters=rope,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        attn_implementation="eager",  # the plain matmul-softmax reference
    )


def rope_halves_permutation(heads: int, dims_per_head: int) -> np.ndarray:
    """Row order taking interleaved-pair RoPE rows to HF's half-split layout, for ``heads`` stacked heads.

    Per head: view the H rows as [H/2, 2] and transpose to [2, H/2]; new row j is old row 2j and new row
    H/2 + j is old row 2j + 1.
    """
    per_head = np.arange(dims_per_head).reshape(dims_per_head // 2, 2).T.reshape(-1)  # [H]
    return (np.arange(heads)[:, None] * dims_per_head + per_head[None, :]).reshape(-1)  # [heads * H]


def _linear_weight(w: np.ndarray) -> np.ndarray:
    """A [D, heads, H] projection (einsum ``BTD,DNH->BTNH``) as a torch Linear weight [heads * H, D]."""
    d, heads, h = w.shape
    return w.reshape(d, heads * h).T


def hf_state_dict(
    cfg: DecoderConfig, arrays: Mapping[str, np.ndarray], *, permute_rope: bool = True
) -> dict[str, torch.Tensor]:
    """§5.3 variables as a ``LlamaForCausalLM`` state dict of float32 CPU tensors, q/k rows permuted.

    ``permute_rope=False`` leaves q and k as they are: a control model that must disagree with ours.
    """
    import torch

    q_rows, k_rows = (
        rope_halves_permutation(heads, cfg.dims_per_head) if permute_rope else slice(None)
        for heads in (cfg.num_heads, cfg.num_kv_heads)
    )
    out = {
        "model.embed_tokens.weight": arrays["lm.embedding_lookup.emb_var"],  # [V, D]
        "lm_head.weight": arrays["lm.softmax.logits_ffn.linear.w"].T,  # [V, D]
        "model.norm.weight": arrays["lm.final_ln.scale"],
    }
    for i in range(cfg.num_layers):
        ours, theirs = f"lm.transformer.x_layers_{i}", f"model.layers.{i}"
        if cfg.combined_qkv:
            wq, wk, wv = arrays[f"{ours}.self_attention.combined_qkv.w"]  # each [D, N, H]
        else:
            wq, wk, wv = (arrays[f"{ours}.self_attention.{n}.w"] for n in ("query", "key", "value"))
        ff = f"{ours}.ff_layer"
        out |= {
            f"{theirs}.input_layernorm.weight": arrays[f"{ours}.layer_norm.scale"],
            f"{theirs}.self_attn.q_proj.weight": _linear_weight(wq)[q_rows],
            f"{theirs}.self_attn.k_proj.weight": _linear_weight(wk)[k_rows],
            f"{theirs}.self_attn.v_proj.weight": _linear_weight(wv),
            # post.w [D, N, H] contracts N and H: as [D, N*H] it already is the [out, in] Linear weight.
            f"{theirs}.self_attn.o_proj.weight": arrays[f"{ours}.self_attention.post.w"].reshape(
                cfg.model_dims, -1
            ),
            f"{theirs}.post_attention_layernorm.weight": arrays[f"{ff}.layer_norm.scale"],
            f"{theirs}.mlp.gate_proj.weight": arrays[f"{ff}.ffn_layer1_gate.linear.w"].T,
            f"{theirs}.mlp.up_proj.weight": arrays[f"{ff}.ffn_layer1.linear.w"].T,
            f"{theirs}.mlp.down_proj.weight": arrays[f"{ff}.ffn_layer2.linear.w"].T,
        }
    # Copies, as float32: HF owns (and may write) its weights.
    return {name: torch.tensor(np.array(value, np.float32)) for name, value in out.items()}


def hf_model(
    cfg: DecoderConfig, arrays: Mapping[str, np.ndarray], *, permute_rope: bool = True
) -> transformers.LlamaForCausalLM:
    """A float32 CPU ``LlamaForCausalLM`` in eval mode holding the §5.3 ``arrays`` (loaded strictly).

    Built on the CPU rather than the meta device: the rotary frequencies are non-persistent buffers that
    ``__init__`` computes and no state dict carries.
    """
    import torch
    import transformers

    config = hf_config(cfg)
    with torch.device("cpu"):
        model = transformers.LlamaForCausalLM(config).to(dtype=torch.float32)
    model.load_state_dict(hf_state_dict(cfg, arrays, permute_rope=permute_rope), strict=True)
    return model.eval()
