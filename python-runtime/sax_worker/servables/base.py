"""The contract between the worker core and a loaded model.

Method payloads mirror Saxml's protos (field names of lm.proto / vision.proto, snake_case):

- ``lm.generate``: ``{"text": str, "extra_inputs": ExtraInputs}`` ->
  ``{"texts": [{"text": str, "score": float}, ...]}`` (one entry per sample, best first).
- ``lm.generate_stream``: same request -> an iterator of
  ``{"items": [{"text": str, "prefix_len": int, "scores": [float]}, ...]}`` chunks, one item per sample;
  a client keeps ``text[:prefix_len]`` of what it has and appends ``text``.
- ``lm.score``: ``{"prefix": str, "suffix": [str], "extra_inputs": ExtraInputs}`` -> ``{"logp": [float]}``.
- ``lm.embed``: ``{"text": str, "extra_inputs": ExtraInputs}`` -> ``{"embedding": [float]}``.
- ``lm.gradient``: ``{"prefix": str, "suffix": str, "extra_inputs": ExtraInputs}`` ->
  ``{"score": [float], "gradients": {name: [float]}}``.

``ExtraInputs`` is ``{"items": {str: float}, "tensors": {str: [float]}, "strings": {str: str}}``.
Validation errors raise ``ValueError`` (reported as INVALID_ARGUMENT); anything else is INTERNAL.

A servable may also schedule some methods itself (``ScheduledServable``): the worker core hands it those
requests with a ``Reply`` and calls ``step`` while it is busy, so the servable can batch requests that
arrive at different times (continuous batching) instead of answering one call at a time.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

Payload = Mapping[str, Any]


class Servable(Protocol):
    """A loaded model held by a worker process."""

    @property
    def methods(self) -> frozenset[str]:
        """Data methods this servable answers, e.g. ``{"lm.generate", "lm.score"}``."""
        ...

    @property
    def streaming_methods(self) -> frozenset[str]:
        """The subset of ``methods`` answered as a stream of chunks."""
        ...

    def call(self, method: str, request: Payload) -> Payload:
        """Answers one request of a unary method."""
        ...

    def stream(self, method: str, request: Payload) -> Iterator[Payload]:
        """Answers one request of a streaming method, chunk by chunk."""
        ...

    def close(self) -> None:
        """Releases what the servable holds (device buffers, files)."""
        ...


class Reply(Protocol):
    """Where a scheduled request's answer goes: ``result`` (unary), or ``chunk``* then ``end`` (stream),
    or ``error`` instead; exactly one of ``result``, ``end`` and ``error``, once."""

    def result(self, body: Payload) -> None: ...

    def chunk(self, body: Payload) -> None: ...

    def end(self) -> None: ...

    def error(self, exc: Exception) -> None: ...


@runtime_checkable
class ScheduledServable(Protocol):
    """A servable that batches the requests of ``scheduled_methods`` across calls."""

    @property
    def scheduled_methods(self) -> frozenset[str]:
        """Methods the core hands to ``submit`` rather than ``call`` / ``stream``."""
        ...

    @property
    def busy(self) -> bool:
        """Whether submitted requests are still waiting or running."""
        ...

    def submit(self, request_id: Hashable, method: str, request: Payload, reply: Reply) -> None:
        """Takes a request; raises (ValueError, WorkerError) at once for one it refuses."""
        ...

    def cancel(self, request_id: Hashable) -> bool:
        """Drops a request without answering it; False if it was not held (already answered)."""
        ...

    def step(self) -> None:
        """Advances the scheduled work once (for an LM: admit waiting requests, decode one token)."""
        ...
