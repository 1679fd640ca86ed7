"""Dynamic batching of unary methods (spec §4.1, §4.2): requests that arrive close together run together.

Per method, requests wait in a bounded FIFO. A batch forms from up to the largest allowed batch size of
them, once the queue holds that many or the oldest has waited ``wait_secs`` (0 or None: whatever is
queued at the next step). The servable runs the batch and answers each request with its own result or
error. A full queue answers RESOURCE_EXHAUSTED at once; a cancelled request leaves the queue, so it
never takes a row (nor holds admission, unlike the reference's dequeue path).
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable, Hashable, Sequence

from sax_worker.errors import WorkerError
from sax_worker.servables.base import Payload, Reply

#: Runs one batch of one method: a result or an exception per request, in order.
RunBatch = Callable[[str, Sequence[Payload]], Sequence[Payload | Exception]]


@dataclasses.dataclass
class _Waiting:
    request_id: Hashable
    request: Payload
    reply: Reply
    arrived: float


class UnaryBatcher:
    """Forms batches of the requests of some unary methods and runs them through ``run``."""

    def __init__(
        self,
        methods: frozenset[str],
        run: RunBatch,
        *,
        batch_size: int,
        wait_secs: float | None,
        max_waiting: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.methods = methods
        self._run = run
        self._batch_size = batch_size
        self._wait = wait_secs or 0.0
        self._max_waiting = max_waiting
        self._clock = clock
        self._queues: dict[str, collections.deque[_Waiting]] = {m: collections.deque() for m in methods}

    @property
    def busy(self) -> bool:
        return any(self._queues.values())

    def submit(self, request_id: Hashable, method: str, request: Payload, reply: Reply) -> None:
        queue = self._queues[method]
        if len(queue) >= self._max_waiting:
            raise WorkerError(
                "RESOURCE_EXHAUSTED", f"Too many requests: {self._max_waiting} {method} requests waiting"
            )
        queue.append(_Waiting(request_id, request, reply, self._clock()))

    def cancel(self, request_id: Hashable) -> bool:
        for queue in self._queues.values():
            for waiting in queue:
                if waiting.request_id == request_id:
                    queue.remove(waiting)
                    return True
        return False

    def step(self) -> None:
        """Runs one batch of every method whose batch is ready."""
        now = self._clock()
        for method, queue in self._queues.items():
            if not queue:
                continue
            if len(queue) < self._batch_size and now - queue[0].arrived < self._wait:
                continue  # the window is still open
            batch = [queue.popleft() for _ in range(min(len(queue), self._batch_size))]
            try:
                results = self._run(method, [w.request for w in batch])
            except Exception as exc:  # the whole batch failed (a device error)
                results = [exc] * len(batch)
            for waiting, result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    waiting.reply.error(result)
                else:
                    waiting.reply.result(result)


class UnaryScheduling:
    """The ``ScheduledServable`` part of a servable whose only scheduled work is an optional
    ``UnaryBatcher`` in ``self._unary`` (None: nothing is scheduled, every call runs at once)."""

    _unary: UnaryBatcher | None

    @property
    def scheduled_methods(self) -> frozenset[str]:
        return self._unary.methods if self._unary else frozenset()

    @property
    def busy(self) -> bool:
        return bool(self._unary and self._unary.busy)

    def submit(self, request_id: Hashable, method: str, request: Payload, reply: Reply) -> None:
        if self._unary is None or method not in self._unary.methods:
            raise ValueError(f"{method} is not scheduled by this servable")
        self._unary.submit(request_id, method, request, reply)

    def cancel(self, request_id: Hashable) -> bool:
        return bool(self._unary and self._unary.cancel(request_id))

    def step(self) -> None:
        if self._unary is not None:
            self._unary.step()
