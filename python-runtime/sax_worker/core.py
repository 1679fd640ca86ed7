"""The worker's logic without sockets: load a servable, run calls, cancel them, enforce deadlines.

:class:`WorkerCore` is fed decoded messages (``handle``) and advanced by the compute loop (``step``);
it answers through an ``emit`` callback. Requests are tasks: ``handle`` only queues them, so that a
``cancel`` arriving with them is seen first, and ``step`` advances every task once: a unary call runs
to completion, a stream yields one chunk. Interleaving streams chunk by chunk keeps one long stream
from starving the others, and makes a cancelled or expired stream stop at its next chunk.

A request failure becomes an ``error`` reply and the worker goes on; only :class:`FatalError` escapes
(``proc.py`` then reports ``fatal`` and exits).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sax_worker.errors import FatalError, WorkerError, load_error, method_error
from sax_worker.protocol import Call, Cancel, Chunk, End, ErrorReply, Load, Message, Result
from sax_worker.servables.base import Payload, ScheduledServable, Servable
from sax_worker.servables.registry import BUILDERS, Builder, build_servable

Emit = Callable[[Message], None]
Clock = Callable[[], float]


@dataclass
class _Task:
    id: int
    method: str
    request: Payload
    deadline: float | None  # on the core's clock, seconds
    streaming: bool
    chunks: Iterator[Payload] | None = field(default=None)
    scheduled: bool = False  # handed to the servable's own scheduler (ScheduledServable.submit)


class _TaskReply:
    """The ``Reply`` of a scheduled task: emits its messages and retires the task when it is answered."""

    def __init__(self, core: WorkerCore, task: _Task) -> None:
        self._core, self._task = core, task

    def result(self, body: Payload) -> None:
        if self._core._retire(self._task):
            self._core._emit(Result(self._task.id, dict(body)))

    def chunk(self, body: Payload) -> None:
        if self._task.id in self._core._tasks:
            self._core._emit(Chunk(self._task.id, dict(body)))

    def end(self) -> None:
        if self._core._retire(self._task):
            self._core._emit(End(self._task.id))

    def error(self, exc: Exception) -> None:
        if self._core._retire(self._task):
            self._core._reply_error(self._task.id, method_error(self._task.method, exc))


class WorkerCore:
    """Holds at most one servable and the requests in flight on it."""

    def __init__(self, emit: Emit, builders: Mapping[str, Builder] = BUILDERS, clock: Clock = time.monotonic):
        self._emit = emit
        self._builders = builders
        self._clock = clock
        self._servable: Servable | None = None
        self._tasks: dict[int, _Task] = {}

    @property
    def busy(self) -> bool:
        """Whether requests are waiting for ``step``."""
        return bool(self._tasks)

    def handle(self, message: Load | Call | Cancel) -> None:
        """Acts on one message from the supervisor."""
        if isinstance(message, Load):
            self._load(message)
        elif isinstance(message, Call):
            self._submit(message)
        else:
            self._cancel(message.id, "CANCELLED", f"request {message.id} was cancelled")

    def step(self) -> None:
        """Advances every task once: expired ones fail, unary calls finish, streams yield one chunk, and
        a servable that schedules its own requests takes one step (for an LM, one token for each)."""
        for task in list(self._tasks.values()):
            if task.deadline is not None and self._clock() >= task.deadline:
                message = f"{task.method} request {task.id} passed its deadline"
                self._cancel(task.id, "DEADLINE_EXCEEDED", message)
            elif task.scheduled:
                continue
            elif task.streaming:
                self._advance_stream(task)
            else:
                self._run_unary(task)
        servable = self._servable
        if isinstance(servable, ScheduledServable) and servable.busy:
            servable.step()

    def shutdown(self) -> None:
        """Cancels every task and releases the servable."""
        for task_id in list(self._tasks):
            self._cancel(task_id, "CANCELLED", f"request {task_id} was cancelled by shutdown")
        servable, self._servable = self._servable, None
        if servable is not None:
            servable.close()

    def _load(self, message: Load) -> None:
        if self._servable is not None:
            self._reply_error(message.id, WorkerError("FAILED_PRECONDITION", "a model is already loaded"))
            return
        try:
            servable = build_servable(message.config, message.checkpoint, message.seed, self._builders)
        except FatalError:
            raise
        except Exception as exc:
            self._reply_error(message.id, load_error(exc))
            return
        self._servable = servable
        body: dict[str, Any] = {
            "methods": sorted(servable.methods),
            "streaming_methods": sorted(servable.streaming_methods),
        }
        load_info = _load_info(servable)
        if load_info is not None:
            body["load_info"] = load_info
        self._emit(Result(message.id, body))

    def _submit(self, message: Call) -> None:
        error = self._check_call(message)
        if error is not None:
            self._reply_error(message.id, error)
            return
        servable = self._servable
        assert servable is not None  # checked above
        deadline = None if message.deadline_ms is None else self._clock() + message.deadline_ms / 1000
        streaming = message.method in servable.streaming_methods
        scheduled = isinstance(servable, ScheduledServable) and message.method in servable.scheduled_methods
        task = _Task(message.id, message.method, message.request, deadline, streaming, scheduled=scheduled)
        self._tasks[message.id] = task
        if scheduled:
            try:
                servable.submit(task.id, task.method, task.request, _TaskReply(self, task))  # type: ignore[union-attr]
            except FatalError:
                raise
            except Exception as exc:
                self._finish(task)
                self._reply_error(task.id, method_error(task.method, exc))

    def _check_call(self, message: Call) -> WorkerError | None:
        if message.id in self._tasks:
            return WorkerError("INVALID_ARGUMENT", f"request id {message.id} is already in flight")
        if self._servable is None:
            return WorkerError("FAILED_PRECONDITION", "no model is loaded in this worker")
        if message.method not in self._servable.methods:
            served = ", ".join(sorted(self._servable.methods))
            return WorkerError("INVALID_ARGUMENT", f"method {message.method} is not served ({served} are)")
        return None

    def _run_unary(self, task: _Task) -> None:
        assert self._servable is not None  # tasks exist only while a servable is loaded
        del self._tasks[task.id]
        try:
            body = self._servable.call(task.method, task.request)
            self._emit(Result(task.id, dict(body)))
        except FatalError:
            raise
        except Exception as exc:
            self._reply_error(task.id, method_error(task.method, exc))

    def _advance_stream(self, task: _Task) -> None:
        assert self._servable is not None  # tasks exist only while a servable is loaded
        try:
            if task.chunks is None:
                task.chunks = iter(self._servable.stream(task.method, task.request))
            body = next(task.chunks)
            self._emit(Chunk(task.id, dict(body)))
        except StopIteration:
            del self._tasks[task.id]
            self._emit(End(task.id))
        except FatalError:
            raise
        except Exception as exc:
            self._finish(task)
            self._reply_error(task.id, method_error(task.method, exc))

    def _cancel(self, task_id: int, code: str, message: str) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return  # already answered: the cancel crossed the reply on the wire
        if task.scheduled and isinstance(self._servable, ScheduledServable):
            self._servable.cancel(task.id)  # frees its slot at once: the next step runs without it
        self._finish(task)
        self._reply_error(task_id, WorkerError(code, message))

    def _retire(self, task: _Task) -> bool:
        """Ends a scheduled task that its servable answered; False if it had already ended."""
        if self._tasks.get(task.id) is not task:
            return False
        del self._tasks[task.id]
        return True

    def _finish(self, task: _Task) -> None:
        self._tasks.pop(task.id, None)
        close: Any = getattr(task.chunks, "close", None)
        if close is not None:
            close()  # runs the generator's finally blocks now, not at garbage collection

    def _reply_error(self, request_id: int, error: WorkerError) -> None:
        self._emit(ErrorReply(request_id, error.code, error.message))


def _load_info(servable: Servable) -> dict[str, float] | None:
    """What loading cost (seconds, bytes, parameter count), for servables that record it in ``load_info``."""
    info = getattr(servable, "load_info", None)
    if not isinstance(info, Mapping):
        return None
    # bool is an int too, but no load statistic is a flag.
    numbers = {name: value for name, value in info.items() if not isinstance(value, bool)}
    return {str(name): float(value) for name, value in numbers.items() if isinstance(value, (int, float))}
