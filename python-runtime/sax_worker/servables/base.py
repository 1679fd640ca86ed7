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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

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
