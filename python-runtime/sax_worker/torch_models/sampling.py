"""Choosing the next token from logits in PyTorch, with the semantics of ``models.sampling``.

Greedy is the first maximum; sampling keeps the ``top_k`` best logits, then each row's own top-k and
top-p cut, and picks ``argmax(logits + temperature · Gumbel noise)`` among them (see
``models.sampling.sample`` for the rules at the edges). The noise comes from the request's own
``torch.Generator``, so a request's samples depend only on its seed; they are not the JAX backend's draws.
"""

from __future__ import annotations

import torch


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """logits [B, V] -> ids [B] (the first maximum)."""
    return logits.argmax(dim=-1)


def sample(
    logits: torch.Tensor,
    generator: torch.Generator,
    *,
    top_k: int,
    temperature: torch.Tensor,
    per_example_top_k: torch.Tensor,
    top_p: torch.Tensor,
) -> torch.Tensor:
    """Draws ids [B] from logits [B, V]; temperature, per_example_top_k, top_p: [B] (top_p NaN: off)."""
    vocab = logits.shape[-1]
    k = top_k if 0 < top_k < vocab else vocab
    values, indices = torch.topk(logits, k, dim=-1)  # [B, k], sorted descending
    if 0 < top_k < vocab:
        rank = torch.arange(k, device=logits.device)[None, :]  # [1, k]
        keep = rank < per_example_top_k.clamp(0, k)[:, None]  # [B, k]
    else:
        keep = torch.ones_like(values, dtype=torch.bool)
    keep = keep & _top_p_keep(values, keep, top_p)
    any_kept = keep.any(dim=-1, keepdim=True)  # [B, 1]
    masked = torch.where(keep, values, -torch.inf)
    masked = torch.where(any_kept, masked, torch.zeros_like(masked))  # [B, k]
    uniform = torch.rand(values.shape, generator=generator, device=logits.device)
    # Clamped away from 0, so the noise is finite and temperature 0 leaves exactly the logits.
    noise = -torch.log(-torch.log(uniform.clamp_min(torch.finfo(torch.float32).tiny)))
    choice = (masked + temperature[:, None] * noise).argmax(dim=-1)  # [B]
    return indices.gather(-1, choice[:, None])[:, 0]


def _top_p_keep(values: torch.Tensor, keep: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """[B, k] mask of the top-p prefix of sorted ``values`` among ``keep``; all True where p is disabled."""
    probs = torch.softmax(torch.where(keep, values, -torch.inf), dim=-1)  # [B, k]
    probs = torch.where(keep, probs, torch.zeros_like(probs))  # no kept candidate: softmax gave NaN
    mass_before = probs.cumsum(dim=-1) - probs  # [B, k]
    p = top_p[:, None]
    # The top candidate is always in the prefix, so p <= 0 means top-1 rather than nothing.
    first = torch.arange(values.shape[-1], device=values.device) == 0
    in_prefix = keep & ((mass_before < p) | first)
    cutoff = torch.where(in_prefix, values, torch.inf).amin(dim=-1, keepdim=True)  # [B, 1]
    enabled = ~torch.isnan(p) & (p < 1.0)
    return ~enabled | (values >= cutoff)
