"""The seam between the LM methods (``lm_methods``) and a framework's device programs.

``LmMethods`` validates, tokenises and detokenises on the host; a backend (plain JAX in ``lm_programs``,
PyTorch in ``sax_worker.torch_models``) runs the model. This module holds what both sides share and
nothing framework-specific: the static decode settings, per-row sampling knobs as host arrays, a decode
state read back to the host, and the ``DecodePrograms`` contract whose docstrings define the semantics.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Protocol

import numpy as np

from sax_worker.models.lm_requests import SampleKnobs
from sax_worker.models.lm_serving_config import LmServingConfig
from sax_worker.models.tokenizers import Tokenizer


@dataclasses.dataclass(frozen=True)
class DecodeSettings:
    """The static part of decoding: fixed per servable, part of every compiled decode program."""

    max_decode_steps: int  # M
    num_samples: int  # rows per prompt
    top_k: int  # candidate bound; 0 = whole vocabulary
    greedy: bool  # argmax, ignoring the per-row temperature / top-k / top-p
    stop_ids: tuple[int, ...]  # a row is done once it generates one of these (EOS counts as generated)
    pad_id: int  # written (with log-prob 0) once a row is done

    @classmethod
    def of(cls, serving: LmServingConfig, tokenizer: Tokenizer) -> DecodeSettings:
        """The settings a serving config and its tokenizer fix (stop ids @default [EOS])."""
        return cls(
            max_decode_steps=serving.max_decode_steps,
            num_samples=serving.num_samples,
            top_k=serving.top_k,
            greedy=serving.greedy,
            stop_ids=serving.stop_token_ids or (tokenizer.eos_id,),
            pad_id=tokenizer.pad_id,
        )


class RowKnobs(NamedTuple):
    """Per-row sampling knobs, [B·num_samples] each (host arrays; device arrays inside a program)."""

    temperature: Any  # float32
    top_k: Any  # int32
    top_p: Any  # float32; NaN disables
    max_steps: Any  # int32, generated tokens allowed (1..M); the host decides what it honours

    @classmethod
    def repeat(cls, knobs: SampleKnobs, rows: int) -> RowKnobs:
        """One request's knobs for each of its ``rows`` (host NumPy arrays)."""
        return cls(
            temperature=np.full(rows, knobs.temperature, np.float32),
            top_k=np.full(rows, knobs.top_k, np.int32),
            top_p=np.full(rows, knobs.top_p, np.float32),
            max_steps=np.full(rows, knobs.max_decode_steps, np.int32),
        )


def choose_tokens(sampler: Any, settings: DecodeSettings, logits: Any, knobs: RowKnobs, noise: Any) -> Any:
    """Next ids [R] from logits [R, V] with a backend's sampling module (``greedy``, ``sample``): argmax
    when the settings are greedy, else a draw under the rows' knobs from ``noise`` (a key, a generator)."""
    if settings.greedy:
        return sampler.greedy(logits)
    return sampler.sample(
        logits,
        noise,
        top_k=settings.top_k,
        temperature=knobs.temperature,
        per_example_top_k=knobs.top_k,
        top_p=knobs.top_p,
    )


class HostDecode(NamedTuple):
    """A decode state read back to the host. R rows, M max decode steps."""

    step: int  # decode steps run so far
    tokens: np.ndarray  # [R, M] generated ids, pad after done
    log_probs: np.ndarray  # [R, M] raw log-probs of generated ids, 0 after done
    lengths: np.ndarray  # [R] generated ids per row, EOS included
    done: np.ndarray  # [R] bool


class ScoringPrograms(Protocol):
    """Whole-sequence programs: inputs are host arrays [B, T] (right-padded), outputs host-readable."""

    def score(self, params: Any, ids: Any, labels: Any, valid: Any, score_mask: Any) -> Any:
        """Σ log p(label) over positions where score_mask is set; ids, labels, masks [B, T] -> [B]."""
        ...

    def embed(self, params: Any, ids: Any, valid: Any) -> Any:
        """Mean of the final normalised hidden states over valid positions: [B, T] -> [B, D] float32."""
        ...

    def gradient(self, params: Any, ids: Any, labels: Any, valid: Any, score_mask: Any) -> tuple[Any, Any]:
        """Like ``score``, plus the gradient of the loss (-score) w.r.t. the input embeddings [B, T, D]."""
        ...


class DecodePrograms(ScoringPrograms, Protocol):
    """A backend's programs for one (config, settings): decoding plus ``ScoringPrograms``.

    A decode state is the backend's own object; the host only reads it through ``fetch``.
    """

    settings: DecodeSettings

    def with_settings(self, settings: DecodeSettings) -> DecodePrograms:
        """The same programs with other decode settings."""
        ...

    def prefill(
        self,
        params: Any,
        ids: np.ndarray,
        prompt_lengths: np.ndarray,
        knobs: RowKnobs,
        method_key: Any,
        request_index: int,
    ) -> Any:
        """Prompts ids [B, P] (right-padded), prompt_lengths [B] incl. SOS -> state of B·num_samples rows.

        The request's randomness derives from (``method_key``, ``request_index``) alone.
        """
        ...

    def decode(self, params: Any, state: Any, num_steps: int) -> Any:
        """Runs up to ``num_steps`` decode steps (fewer when every row is done or M is reached)."""
        ...

    def fetch(self, state: Any) -> HostDecode:
        """The state's tokens, log-probs, lengths, done flags and step count, on the host."""
        ...
