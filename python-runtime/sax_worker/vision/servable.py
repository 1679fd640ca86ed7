"""``VisionServable``: the shell every vision model runs in.

A model gives one batch handler per method; the shell checks method names and request fields, refuses
extra inputs (no vision servable declares any, spec §6), and batches requests dynamically through the
same ``UnaryBatcher`` as the LM servables when the batch size is above 1. A request whose own input is
bad (undecodable image bytes, say) fails alone; the rest of its batch runs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import TypeVar

from sax_worker.servables import direct
from sax_worker.servables.base import Payload, Reply
from sax_worker.servables.unary_batcher import UnaryBatcher, UnaryScheduling
from sax_worker.vision.config import VisionServing

#: Runs one batch of one method: a result or an exception per request, in order.
BatchHandler = Callable[[Sequence[Payload]], Sequence[Payload | Exception]]

T = TypeVar("T")


def per_request(prepare: Callable[[Payload], T], run: Callable[[list[T]], Sequence[Payload]]) -> BatchHandler:
    """A batch handler that prepares each request on its own (its ``ValueError`` fails that request
    only) and runs the prepared ones together through ``run`` (one result each, in order)."""

    def handle(requests: Sequence[Payload]) -> list[Payload | Exception]:
        prepared: list[T | ValueError] = []
        for request in requests:
            try:
                prepared.append(prepare(request))
            except ValueError as err:
                prepared.append(err)
        ready = [p for p in prepared if not isinstance(p, ValueError)]
        outputs = iter(run(ready) if ready else ())
        return [p if isinstance(p, ValueError) else next(outputs) for p in prepared]

    return handle


def bytes_field(request: Payload, key: str) -> bytes:
    """``request[key]`` as bytes; ``ValueError`` when absent or of another type."""
    value = request.get(key)
    if not isinstance(value, bytes | bytearray):
        raise ValueError(f"request field {key!r} must be bytes, got {type(value).__name__}")
    return bytes(value)


def string_field(request: Payload, key: str) -> str:
    """``request[key]`` as a string (absent: empty); ``ValueError`` for another type."""
    value = request.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"request field {key!r} must be a string, got {type(value).__name__}")
    return value


def reject_extra_inputs(method: str, request: Payload) -> None:
    """Vision servables declare no extra inputs: any given one is a ``ValueError`` naming it."""
    extra = request.get("extra_inputs") or {}
    if not isinstance(extra, Mapping):
        raise ValueError("request field 'extra_inputs' must be an object")
    given = sorted(key for kind in ("items", "tensors", "strings") for key in (extra.get(kind) or {}))
    if given:
        raise ValueError(f"{method} declares no extra inputs; got {given}")


class VisionServable(UnaryScheduling):
    """A loaded vision model answering the methods it has handlers for."""

    def __init__(
        self,
        handlers: Mapping[str, BatchHandler],
        serving: VisionServing,
        *,
        load_info: Mapping[str, float] | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        """``release``: frees the model's memory (device buffers) on ``close``."""
        self._handlers = dict(handlers)
        self._release = release
        self._unary = (
            UnaryBatcher(
                frozenset(handlers),
                self._run_batch,
                batch_size=serving.batch_size,
                wait_secs=serving.batch_wait_secs,
                max_waiting=serving.batch_size * serving.max_live_batches,
            )
            if serving.batch_size > 1
            else None
        )
        #: What loading cost, for the model server's status.
        self.load_info: dict[str, float] = dict(load_info or {})

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self._handlers)

    @property
    def streaming_methods(self) -> frozenset[str]:
        return frozenset()

    def submit(self, request_id: Hashable, method: str, request: Payload, reply: Reply) -> None:
        reject_extra_inputs(method, request)  # at once, before the request takes a place in the queue
        super().submit(request_id, method, request, reply)

    def call(self, method: str, request: Payload) -> Payload:
        self._check_method(method)
        if method in self.scheduled_methods:
            return direct.call(self, method, request)
        reject_extra_inputs(method, request)
        (result,) = self._run_batch(method, [request])
        if isinstance(result, Exception):
            raise result
        return result

    def stream(self, method: str, request: Payload) -> Iterator[Payload]:
        self._check_method(method)
        raise ValueError(f"{method} is a unary method")

    def close(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None

    def _run_batch(self, method: str, requests: Sequence[Payload]) -> Sequence[Payload | Exception]:
        return self._handlers[method](requests)

    def _check_method(self, method: str) -> None:
        if method not in self._handlers:
            raise ValueError(f"model does not support {method}; it answers {sorted(self._handlers)}")
