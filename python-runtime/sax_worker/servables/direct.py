"""Calling a scheduled servable's methods directly, in-process, without a worker core.

``ScheduledServable``s answer through ``Reply`` objects while something calls ``step``; these helpers
play that part for one request at a time, so tests, benchmarks and scripts can use ``call`` / ``stream``
on any servable alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from sax_worker.servables.base import Payload, ScheduledServable

_ids = itertools.count()


class CollectingReply:
    """A ``Reply`` that keeps what it is told."""

    def __init__(self) -> None:
        self.chunks: list[Payload] = []
        self.answer: Payload | None = None
        self.failure: Exception | None = None
        self.finished = False

    def result(self, body: Payload) -> None:
        self.answer, self.finished = body, True

    def chunk(self, body: Payload) -> None:
        self.chunks.append(body)

    def end(self) -> None:
        self.finished = True

    def error(self, exc: Exception) -> None:
        self.failure, self.finished = exc, True


def call(servable: ScheduledServable, method: str, request: Payload) -> Payload:
    """Submits one unary request and steps the servable until it is answered."""
    reply = _run(servable, method, request)
    for _ in _steps(servable, reply):
        pass
    assert reply.answer is not None
    return reply.answer


def stream(servable: ScheduledServable, method: str, request: Payload) -> Iterator[Payload]:
    """Submits one streaming request now (so a bad one fails here) and yields its chunks as they come."""
    reply = _run(servable, method, request)
    return _stream(servable, reply)


def _stream(servable: ScheduledServable, reply: CollectingReply) -> Iterator[Payload]:
    for _ in _steps(servable, reply):
        yield from reply.chunks
        reply.chunks.clear()
    yield from reply.chunks


def _run(servable: ScheduledServable, method: str, request: Payload) -> CollectingReply:
    reply = CollectingReply()
    servable.submit(("direct", next(_ids)), method, request, reply)
    return reply


def _steps(servable: ScheduledServable, reply: CollectingReply) -> Iterator[Any]:
    while not reply.finished:
        servable.step()
        if reply.failure is not None:
            raise reply.failure
        yield None
