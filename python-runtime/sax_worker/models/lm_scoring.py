"""lm.score, lm.embed and lm.gradient of an LM servable (spec data-plane §3.5, §3.8, §3.9).

Each request becomes one row: [SOS] + prefix (+ suffix) ids right-padded to a score bucket. Score and
embed run a batch of rows as one device program call (rows padded to the allowed batch size by repeating
row 0, spec §4.2), so that dynamic batching and single calls share one path; a request that fails its
own validation gets its own error and leaves the rest of the batch alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from sax_worker.models.lm_backend import ScoringPrograms
from sax_worker.models.lm_requests import extra_input_items, text_field
from sax_worker.models.lm_serving_config import LmServingConfig
from sax_worker.models.tokenizers import Tokenizer

Payload = Mapping[str, Any]


class LmScoring:
    """Scores, embeds and differentiates prompts with one servable's programs (any backend) and weights."""

    def __init__(
        self,
        programs: ScoringPrograms,
        params: Callable[[], Any],
        tokenizer: Tokenizer,
        serving: LmServingConfig,
        encode: Callable[[str, int], list[int]],
        batch_sizes: tuple[int, ...],
    ) -> None:
        self._programs, self._params, self._tokenizer = programs, params, tokenizer
        self._serving, self._encode, self._batch_sizes = serving, encode, batch_sizes

    def warm_up(self, methods: Iterable[str]) -> None:
        """Compiles score / embed for every score bucket and batch size, gradient for its one shape."""
        methods = frozenset(methods)
        for bucket in self._serving.score_buckets:
            for rows in self._batch_sizes:
                ids = np.full((rows, bucket), self._tokenizer.pad_id, np.int32)
                mask = np.zeros((rows, bucket), np.bool_)
                if "lm.score" in methods:
                    self._programs.score(self._params(), ids, ids, mask, mask)
                if "lm.embed" in methods:
                    self._programs.embed(self._params(), ids, mask)
        if "lm.gradient" in methods:  # one shape: the backward pass is the costliest compile
            bucket = self._serving.score_buckets[-1]
            ids = np.full((1, bucket), self._tokenizer.pad_id, np.int32)
            mask = np.zeros((1, bucket), np.bool_)
            self._programs.gradient(self._params(), ids, ids, mask, mask)

    def run_batch(self, method: str, requests: Sequence[Payload]) -> list[Payload | Exception]:
        """Answers lm.score or lm.embed requests with one device batch (rows padded to an allowed size)."""
        results: list[Payload | Exception] = []
        rows: list[tuple[int, tuple[np.ndarray, ...], int]] = []  # (request index, arrays, scored count)
        for index, request in enumerate(requests):
            try:
                arrays, scored = (
                    self._score_row(request) if method == "lm.score" else self._embed_row(request)
                )
                rows.append((index, arrays, scored))
                results.append({})
            except Exception as exc:  # this request only
                results.append(exc)
        if not rows:
            return results
        batch = _stack(
            [arrays for _, arrays, _ in rows], self._tokenizer.pad_id, self._padded_batch(len(rows))
        )
        if method == "lm.score":
            values = np.asarray(self._programs.score(self._params(), *batch))
            for row, (index, _, scored) in enumerate(rows):
                total = float(values[row])
                if self._serving.scoring_use_geomean_prob_score:
                    total = math.exp(total / max(scored, 1))
                results[index] = {"logp": [total]}
        else:
            embeddings = np.asarray(self._programs.embed(self._params(), *batch), np.float32)
            for row, (index, _, _) in enumerate(rows):
                results[index] = {"embedding": embeddings[row].tolist()}
        return results

    def _padded_batch(self, count: int) -> int:
        """The smallest allowed batch size holding ``count`` rows (batching off: sizes (1,), one row)."""
        return next(size for size in self._batch_sizes if size >= count)

    def _score_row(self, request: Payload) -> tuple[tuple[np.ndarray, ...], int]:
        suffixes = request.get("suffix") or [""]
        if not isinstance(suffixes, list | tuple) or len(suffixes) != 1:
            raise ValueError(f"lm.score takes exactly one suffix, got {len(suffixes)}")
        return self._scoring_inputs(text_field(request, "prefix", ""), suffixes[0], request)

    def gradient(self, request: Payload) -> Payload:
        """The score of (prefix, suffix), the loss (its negation) and d loss / d input embeddings (§3.9).

        Gradients cover the [SOS] + prefix + suffix positions, flattened row-major ([T, D]).
        """
        prefix, suffix = text_field(request, "prefix", ""), request.get("suffix", "")
        arrays, _ = self._scoring_inputs(prefix, suffix, request, pad_to=self._serving.score_buckets[-1])
        scores, grads = self._programs.gradient(self._params(), *arrays)
        length = int(np.sum(arrays[2]))
        score = float(scores[0])
        return {
            "score": [score],
            "gradients": {
                "total_loss": [-score],
                "gradients/inputs/embeddings": np.asarray(grads[0, :length], np.float32).ravel().tolist(),
            },
        }

    def _scoring_inputs(
        self, prefix: str, suffix: Any, request: Payload, pad_to: int | None = None
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], int]:
        """(ids, labels, valid, score mask) [1, bucket] for [SOS] + prefix + suffix, and the scored count.

        The bucket is the smallest score bucket that fits, or ``pad_to``.
        """
        suffix = text_field({"suffix": suffix}, "suffix")
        extra_input_items(request, {})
        tok, serving = self._tokenizer, self._serving
        prefix_ids = self._encode(prefix, serving.input_seq_len)[1:]
        suffix_ids = self._encode(suffix, serving.score_suffix_budget)[1:]
        ids = [tok.sos_id, *prefix_ids, *suffix_ids]
        labels = [*prefix_ids, *suffix_ids, tok.eos_id]
        mask = [False] * len(prefix_ids) + [True] * len(suffix_ids) + [serving.scoring_include_eos_score]
        bucket = serving.bucket_for(len(ids), serving.score_buckets if pad_to is None else (pad_to,))
        arrays = (
            right_pad(ids, bucket, tok.pad_id),
            right_pad(labels, bucket, tok.pad_id),
            right_pad([True] * len(ids), bucket, False),
            right_pad(mask, bucket, False),
        )
        return arrays, sum(mask)

    def _embed_row(self, request: Payload) -> tuple[tuple[np.ndarray, ...], int]:
        text = text_field(request, "text")
        extra_input_items(request, {})
        ids = self._encode(text, self._serving.input_seq_len)
        bucket = self._serving.bucket_for(len(ids), self._serving.score_buckets)
        valid = right_pad([True] * len(ids), bucket, False)
        return (right_pad(ids, bucket, self._tokenizer.pad_id), valid), 0


def one(results: list[Payload | Exception]) -> Payload:
    [result] = results
    if isinstance(result, Exception):
        raise result
    return result


def _stack(rows: list[tuple[np.ndarray, ...]], pad_id: int, batch: int) -> tuple[np.ndarray, ...]:
    """Rows of [1, bucket_i] arrays -> [batch, max bucket] arrays; extra rows repeat row 0 (spec §4.2)."""
    width = max(arrays[0].shape[1] for arrays in rows)
    stacked = []
    for column in zip(*rows, strict=True):
        fill = False if column[0].dtype == np.bool_ else pad_id
        padded = [np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill) for a in column]
        padded += [padded[0]] * (batch - len(padded))
        stacked.append(np.concatenate(padded))
    return tuple(stacked)


def right_pad(values: list[Any], length: int, fill: int | bool) -> np.ndarray:
    """[values + fill…] as a [1, length] array: bool when ``fill`` is, else int32."""
    dtype = np.bool_ if isinstance(fill, bool) else np.int32
    return np.asarray([list(values) + [fill] * (length - len(values))], dtype)
