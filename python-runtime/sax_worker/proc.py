"""The worker process shell: the socket, the threads and the signals around :class:`WorkerCore`.

- The I/O thread owns the ZeroMQ DEALER socket (connected to the supervisor's bound endpoint). It
  decodes incoming frames onto the inbound queue, and sends the frames the compute loop puts on the
  outbound queue; the compute loop wakes it through a pipe, so neither side polls on a timer.
- The compute loop (the main thread) takes messages from the inbound queue, hands them to the core,
  and steps the core while it has work. It encodes replies itself, so a reply that cannot be encoded
  fails its own request rather than the process.
- Signal handlers only record the signal and wake the compute loop. SIGTERM shuts down cleanly; SIGINT
  is ignored, because a Ctrl-C in the model server's terminal reaches the whole process group and the
  supervisor, not the terminal, decides when its workers stop.
- If the supervisor process goes away (our parent pid changes), the worker exits rather than keep a
  model's memory with no one to serve.
- On a fatal error the worker sends ``fatal`` and exits 1; after ``shutdown`` or SIGTERM it exits 0.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import platform
import queue
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Final

import zmq

from sax_worker.core import WorkerCore
from sax_worker.errors import FatalError
from sax_worker.protocol import (
    PROTOCOL_VERSION,
    Call,
    Cancel,
    Fatal,
    Load,
    Message,
    ProtocolError,
    Ready,
    Shutdown,
    decode,
    encode,
)
from sax_worker.servables.registry import BUILDERS

_log = logging.getLogger("sax_worker")

_IDLE_WAIT_S: Final = 0.25  # how often an idle compute loop looks at the signal flag
_POLL_MS: Final = 100  # how often the I/O thread checks its parent and its close deadline
_CLOSE_TIMEOUT_S: Final = 2.0  # how long unsent frames may hold up the exit
_FRAMEWORKS: Final = ("jax", "torch")


@dataclass(frozen=True)
class _ProtocolViolation:
    message: str


@dataclass(frozen=True)
class _IoFailure:
    message: str


_WAKE: Final = object()  # inbound: look at the flags
_PARENT_GONE: Final = object()  # inbound: the supervisor process is gone
_CLOSE: Final = b""  # outbound: flush what is queued, then close the socket (never a real frame)

_Inbound = Message | _ProtocolViolation | _IoFailure | object


def capabilities() -> dict[str, object]:
    """What this worker can do, for READY; finds frameworks without importing them."""
    frameworks = [name for name in _FRAMEWORKS if importlib.util.find_spec(name) is not None]
    return {"frameworks": frameworks, "kinds": sorted(BUILDERS), "python": platform.python_version()}


class WorkerProc:
    """One worker process: connects to ``endpoint``, says READY, serves until shutdown."""

    def __init__(self, endpoint: str, worker_id: str, supervisor_pid: int | None = None) -> None:
        self._endpoint = endpoint
        self._worker_id = worker_id
        # Given by the supervisor, so that its death during our start-up is noticed too.
        self._parent_pid = os.getppid() if supervisor_pid is None else supervisor_pid
        self._inbound: queue.SimpleQueue[_Inbound] = queue.SimpleQueue()  # put() is signal-safe
        self._outbound: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._signal: int | None = None
        self._core = WorkerCore(self._send)
        self._io = threading.Thread(target=self._io_main, name="sax-worker-io", daemon=True)

    def run(self) -> int:
        """Serves until told to stop; returns the process exit status."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        self._io.start()
        try:
            self._send(Ready(PROTOCOL_VERSION, os.getpid(), self._worker_id, capabilities()))
            return self._compute_loop()
        except FatalError as exc:
            return self._die(str(exc))
        except Exception as exc:
            _log.exception("unexpected error in the compute loop")
            return self._die(f"{type(exc).__name__}: {exc}")
        finally:
            self._close_io()

    def _compute_loop(self) -> int:
        while True:
            for item in self._take_inbound(wait=not self._core.busy):
                status = self._dispatch(item)
                if status is not None:
                    return status
            if self._signal is not None:
                _log.info("got signal %d; shutting down", self._signal)
                self._core.shutdown()
                return 0
            self._core.step()

    def _take_inbound(self, wait: bool) -> list[_Inbound]:
        items: list[_Inbound] = []
        try:
            items.append(self._inbound.get(timeout=_IDLE_WAIT_S) if wait else self._inbound.get_nowait())
            while True:
                items.append(self._inbound.get_nowait())
        except queue.Empty:
            pass
        return items

    def _dispatch(self, item: _Inbound) -> int | None:
        """Acts on one inbound item; returns an exit status when the process should end."""
        if isinstance(item, Load | Call | Cancel):
            self._core.handle(item)
        elif isinstance(item, Shutdown):
            _log.info("shutdown requested")
            self._core.shutdown()
            return 0
        elif isinstance(item, _ProtocolViolation):
            raise FatalError(f"protocol error: {item.message}")
        elif isinstance(item, _IoFailure):
            _log.error("the I/O thread failed: %s", item.message)
            return 1
        elif item is _PARENT_GONE:
            _log.error("the model server (pid %d) is gone; exiting", self._parent_pid)
            self._core.shutdown()
            return 1
        elif item is not _WAKE:
            raise FatalError(f"protocol error: the model server sent a {type(item).__name__} message")
        return None

    def _die(self, message: str) -> int:
        _log.error("fatal: %s", message)
        with contextlib.suppress(Exception):
            self._send(Fatal(message))
        return 1

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._signal = signum
        self._inbound.put(_WAKE)

    def _send(self, message: Message) -> None:
        self._outbound.put(encode(message))
        self._wake_io()

    def _wake_io(self) -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe already means "wake up"
            os.write(self._wake_w, b"\0")

    def _close_io(self) -> None:
        self._outbound.put(_CLOSE)
        self._wake_io()
        self._io.join(timeout=_CLOSE_TIMEOUT_S + 1)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)

    def _io_main(self) -> None:
        try:
            _IoLoop(self).run()
        except Exception as exc:
            _log.exception("the I/O thread failed")
            self._inbound.put(_IoFailure(f"{type(exc).__name__}: {exc}"))


class _IoLoop:
    """The I/O thread's body; the only code that touches the socket."""

    def __init__(self, proc: WorkerProc) -> None:
        self._proc = proc
        self._backlog: deque[bytes] = deque()
        self._close_by: float | None = None
        self._parent_reported = False

    def run(self) -> None:
        context = zmq.Context()
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, int(_CLOSE_TIMEOUT_S * 1000))
        try:
            sock.connect(self._proc._endpoint)
            self._serve(sock)
        finally:
            sock.close()
            context.term()

    def _serve(self, sock: zmq.Socket[bytes]) -> None:
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(self._proc._wake_r, zmq.POLLIN)
        while True:
            events = dict(poller.poll(_POLL_MS))
            if events.get(sock, 0) & zmq.POLLIN:
                self._receive_all(sock)
            if self._proc._wake_r in events:
                os.read(self._proc._wake_r, 4096)
            self._collect_outbound()
            self._flush(sock)
            poller.modify(sock, zmq.POLLIN | (zmq.POLLOUT if self._backlog else 0))
            if self._close_by is not None and (not self._backlog or time.monotonic() > self._close_by):
                return
            self._check_parent()

    def _receive_all(self, sock: zmq.Socket[bytes]) -> None:
        while True:
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                self._proc._inbound.put(decode(frame))
            except ProtocolError as exc:
                self._proc._inbound.put(_ProtocolViolation(str(exc)))

    def _collect_outbound(self) -> None:
        while True:
            try:
                frame = self._proc._outbound.get_nowait()
            except queue.Empty:
                return
            if frame is _CLOSE:
                self._close_by = time.monotonic() + _CLOSE_TIMEOUT_S
            else:
                self._backlog.append(frame)

    def _flush(self, sock: zmq.Socket[bytes]) -> None:
        # Non-blocking: a supervisor that is slow to read must not stop us from reading its cancels.
        while self._backlog:
            try:
                sock.send(self._backlog[0], zmq.NOBLOCK)
            except zmq.Again:
                return
            self._backlog.popleft()

    def _check_parent(self) -> None:
        if not self._parent_reported and os.getppid() != self._proc._parent_pid:
            self._parent_reported = True
            self._proc._inbound.put(_PARENT_GONE)
