"""The PyTorch backend's programs (``lm_backend.DecodePrograms``): prefill, decode, score, embed, gradient.

Decoding follows ``models.lm_programs``: a prefill runs the prompts through ``decoder.forward`` and copies
their keys and values into a cache of P + M positions, one row per sample; each decode step samples a
token per live row, records it with its raw log-prob and runs it through ``decoder.decode_step``. The loop
runs eagerly on the host, one step at a time, and stops as soon as every row is done; the step that
would only compute logits nobody reads (after the last token) is skipped. Everything runs under
``torch.inference_mode`` except the gradient, which needs autograd.

Host arrays go in (NumPy, as ``LmMethods`` and ``LmScoring`` build them) and come back as NumPy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.lm_backend import DecodeSettings, HostDecode, RowKnobs, choose_tokens
from sax_worker.torch_models import decoder, sampling
from sax_worker.torch_models.weights import TorchWeights

#: Host arrays of whole-sequence programs: [B, T] in, [B] / [B, D] / [B, T, D] out.
Rows = np.ndarray


@dataclasses.dataclass
class TorchDecodeState:
    """What a decode carries between calls. R = B·num_samples rows, M max decode steps."""

    cache: decoder.KvCache  # R rows of P+M positions
    logits: torch.Tensor  # [R, V] float32, for the next token
    step: int  # decode steps run so far
    bound: int  # positions the next step attends to: above every row's cache length
    tokens: torch.Tensor  # [R, M] generated ids, pad after done
    log_probs: torch.Tensor  # [R, M] raw log-probs of generated ids, 0 after done
    lengths: torch.Tensor  # [R] generated ids per row, EOS included
    done: torch.Tensor  # [R] bool
    knobs: RowKnobs  # [R] tensors
    generator: torch.Generator  # this request's sampling noise


def request_seed(method_key: Sequence[int], request_index: int) -> int:
    """A 64-bit seed for one request of a method whose key is ``method_key`` (the key's words)."""
    words = np.random.SeedSequence(list(method_key), spawn_key=(request_index,)).generate_state(2)
    return int(words[0]) << 32 | int(words[1])


class TorchPrograms:
    """The programs bound to one (config, settings, device)."""

    def __init__(self, cfg: DecoderConfig, settings: DecodeSettings, device: torch.device) -> None:
        self.cfg = cfg
        self.settings = settings
        self.device = device
        self._stop_ids = torch.tensor(settings.stop_ids, dtype=torch.int64, device=device)

    def with_settings(self, settings: DecodeSettings) -> TorchPrograms:
        """The same programs with other decode settings."""
        return TorchPrograms(self.cfg, settings, self.device)

    def _tensor(self, array: np.ndarray | Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array), device=self.device).to(dtype)

    @torch.inference_mode()
    def prefill(
        self,
        params: TorchWeights,
        ids: np.ndarray,
        prompt_lengths: np.ndarray,
        knobs: RowKnobs,
        method_key: Sequence[int],
        request_index: int,
    ) -> TorchDecodeState:
        s = self.settings
        longest = int(np.max(prompt_lengths))
        ids_t = self._tensor(ids[:, :longest], torch.int64)  # [B, P]: padding past every prompt dropped
        lengths = self._tensor(prompt_lengths, torch.int64)  # [B]
        valid = torch.arange(longest, device=self.device)[None, :] < lengths[:, None]
        logits, _, attended = decoder.forward(params, self.cfg, ids_t, valid)
        last = logits[torch.arange(len(lengths), device=self.device), lengths - 1]  # [B, V]
        rows = len(lengths) * s.num_samples  # row b·S + j is sample j of prompt b
        cache = decoder.empty_cache(
            self.cfg, rows, longest + s.max_decode_steps, self.device, params.embedding.dtype
        )
        for layer, (k, v) in enumerate(attended):  # each [B, K, P, H]
            cache.k[layer, :, :, :longest] = k.repeat_interleave(s.num_samples, dim=0)
            cache.v[layer, :, :, :longest] = v.repeat_interleave(s.num_samples, dim=0)
        cache.lengths[:] = lengths.repeat_interleave(s.num_samples)
        generator = torch.Generator(self.device)
        generator.manual_seed(request_seed(method_key, request_index))
        return TorchDecodeState(
            cache=cache,
            logits=last.repeat_interleave(s.num_samples, dim=0),
            step=0,
            bound=longest + 1,
            tokens=torch.full((rows, s.max_decode_steps), s.pad_id, dtype=torch.int64, device=self.device),
            log_probs=torch.zeros(rows, s.max_decode_steps, device=self.device),
            lengths=torch.zeros(rows, dtype=torch.int64, device=self.device),
            done=torch.zeros(rows, dtype=torch.bool, device=self.device),
            knobs=RowKnobs(
                temperature=self._tensor(knobs.temperature, torch.float32),
                top_k=self._tensor(knobs.top_k, torch.int64),
                top_p=self._tensor(knobs.top_p, torch.float32),
                max_steps=self._tensor(knobs.max_steps, torch.int64),
            ),
            generator=generator,
        )

    @torch.inference_mode()
    def decode(self, params: TorchWeights, state: TorchDecodeState, num_steps: int) -> TorchDecodeState:
        end = min(state.step + num_steps, self.settings.max_decode_steps)
        while state.step < end and not bool(state.done.all()):
            self._step(params, state)
        return state

    def _step(self, params: TorchWeights, st: TorchDecodeState) -> None:
        """Samples one token per live row from ``st.logits``, records it and runs it through the model."""
        s = self.settings
        token = choose_tokens(sampling, s, st.logits, st.knobs, st.generator)
        live = ~st.done
        log_prob = decoder.token_log_probs(st.logits, token)  # [R]
        token = torch.where(live, token, s.pad_id)
        rows = live.nonzero()[:, 0]
        st.tokens[rows, st.lengths[rows]] = token[rows]
        st.log_probs[rows, st.lengths[rows]] = log_prob[rows]
        st.lengths += live.to(torch.int64)
        stopped = torch.isin(token, self._stop_ids)
        st.done |= stopped | (st.lengths >= st.knobs.max_steps)
        st.step += 1
        if st.step < s.max_decode_steps and not bool(st.done.all()):
            st.logits = decoder.decode_step(params, self.cfg, st.cache, token, live, st.bound)
            st.bound += 1

    def fetch(self, state: TorchDecodeState) -> HostDecode:
        return HostDecode(
            step=state.step,
            tokens=state.tokens.cpu().numpy(),
            log_probs=state.log_probs.cpu().numpy(),
            lengths=state.lengths.cpu().numpy(),
            done=state.done.cpu().numpy(),
        )

    # Whole sequences.

    def _scores(self, logits: torch.Tensor, labels: np.ndarray, score_mask: np.ndarray) -> torch.Tensor:
        """Per-row Σ log p(label) where score_mask is set: logits [B, T, V] -> [B] float32."""
        log_probs = decoder.token_log_probs(logits, self._tensor(labels, torch.int64))  # [B, T]
        return torch.where(self._tensor(score_mask, torch.bool), log_probs, 0.0).sum(dim=-1)

    @torch.inference_mode()
    def score(self, params: TorchWeights, ids: Rows, labels: Rows, valid: Rows, score_mask: Rows) -> Rows:
        ids_t, valid_t = self._tensor(ids, torch.int64), self._tensor(valid, torch.bool)
        logits, _, _ = decoder.forward(params, self.cfg, ids_t, valid_t)
        return self._scores(logits, labels, score_mask).cpu().numpy()

    @torch.inference_mode()
    def embed(self, params: TorchWeights, ids: Rows, valid: Rows) -> Rows:
        ids_t, valid_t = self._tensor(ids, torch.int64), self._tensor(valid, torch.bool)
        _, hidden, _ = decoder.forward(params, self.cfg, ids_t, valid_t)
        weights = valid_t.float()[:, :, None]  # [B, T, 1]
        total = (hidden.float() * weights).sum(dim=1)  # [B, D]
        return (total / weights.sum(dim=1).clamp_min(1.0)).cpu().numpy()

    def gradient(
        self, params: TorchWeights, ids: Rows, labels: Rows, valid: Rows, score_mask: Rows
    ) -> tuple[Rows, Rows]:
        with torch.enable_grad():
            embeddings = decoder.embed(params, self._tensor(ids, torch.int64)).float().requires_grad_()
            x = embeddings.to(params.embedding.dtype)
            logits, _, _ = decoder.forward_from_embeddings(
                params, self.cfg, x, self._tensor(valid, torch.bool)
            )
            scores = self._scores(logits, labels, score_mask)  # [B]
            (-scores.sum()).backward()
        assert embeddings.grad is not None
        return scores.detach().cpu().numpy(), embeddings.grad.cpu().numpy()
