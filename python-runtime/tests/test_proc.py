"""The worker as a real process: python -m sax_worker against a DEALER socket bound here."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from sax_worker.protocol import (
    PROTOCOL_VERSION,
    Call,
    Cancel,
    Chunk,
    ErrorReply,
    Fatal,
    Load,
    Message,
    Ready,
    Result,
    Shutdown,
    decode,
    encode,
)

RUNTIME_DIR = Path(__file__).resolve().parents[1]
TIMEOUT_S = 10.0


class WorkerUnderTest:
    """A bound socket and the worker process connected to it; every wait is bounded."""

    def __init__(self, *extra_args: str) -> None:
        # Not pytest's tmp_path: ipc paths must stay under ~100 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="saxw-"))
        self.context = zmq.Context()
        self.sock = self.context.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        endpoint = f"ipc://{self.dir}/w.sock"
        self.sock.bind(endpoint)
        self.log = open(self.dir / "stderr.log", "w+")  # noqa: SIM115 - closed in close()
        args = [sys.executable, "-m", "sax_worker", "--endpoint", endpoint, "--worker-id", "t1", *extra_args]
        self.process = subprocess.Popen(args, cwd=RUNTIME_DIR, stderr=self.log)

    def send(self, message: Message) -> None:
        self.sock.send(encode(message))

    def recv(self) -> Message:
        if not self.sock.poll(int(TIMEOUT_S * 1000)):
            raise AssertionError(f"no message from the worker within {TIMEOUT_S} s; stderr:\n{self.stderr()}")
        return decode(self.sock.recv())

    def recv_until_final(self, request_id: int) -> list[Message]:
        """Messages for ``request_id`` up to and including its final one (others are dropped)."""
        got: list[Message] = []
        while True:
            message = self.recv()
            if getattr(message, "id", None) != request_id:
                continue
            got.append(message)
            if not isinstance(message, Chunk):
                return got

    def wait(self) -> int:
        return self.process.wait(timeout=TIMEOUT_S)

    def stderr(self) -> str:
        self.log.flush()
        return (self.dir / "stderr.log").read_text()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT_S)
        self.sock.close()
        self.context.term()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def worker() -> Iterator[WorkerUnderTest]:
    w = WorkerUnderTest()
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def loaded(worker: WorkerUnderTest) -> WorkerUnderTest:
    assert isinstance(worker.recv(), Ready)
    worker.send(Load(1, {"kind": "echo"}, "None", 0))
    assert isinstance(worker.recv(), Result)
    return worker


def test_says_ready_first(worker):
    ready = worker.recv()
    assert isinstance(ready, Ready)
    assert (ready.version, ready.pid, ready.worker_id) == (PROTOCOL_VERSION, worker.process.pid, "t1")
    assert "echo" in ready.capabilities["kinds"]


def test_answers_many_concurrent_calls_by_id(loaded):
    for i in range(10, 30):
        loaded.send(Call(i, "lm.generate", {"text": f"w{i}"}))
    replies = {m.id: m for m in (loaded.recv() for _ in range(20))}
    assert replies[17] == Result(17, {"texts": [{"text": "71W", "score": -0.5}]})
    assert sorted(replies) == list(range(10, 30))


def test_cancel_stops_a_stream_and_the_worker_keeps_serving(loaded):
    request = {"text": "a b c d e f g h", "extra_inputs": {"items": {"delay_ms": 50}}}
    loaded.send(Call(5, "lm.generate_stream", request))
    assert isinstance(loaded.recv(), Chunk)
    loaded.send(Cancel(5))
    replies = loaded.recv_until_final(5)
    assert replies[-1] == ErrorReply(5, "CANCELLED", "request 5 was cancelled")
    assert len(replies) < 4
    loaded.send(Call(6, "lm.generate", {"text": "ok"}))
    assert loaded.recv() == Result(6, {"texts": [{"text": "KO", "score": -0.5}]})


def test_a_deadline_stops_a_stream(loaded):
    request = {"text": "a b c d e f", "extra_inputs": {"items": {"delay_ms": 40}}}
    loaded.send(Call(5, "lm.generate_stream", request, deadline_ms=60))
    replies = loaded.recv_until_final(5)
    assert replies[-1] == ErrorReply(
        5, "DEADLINE_EXCEEDED", "lm.generate_stream request 5 passed its deadline"
    )


def test_shutdown_cancels_in_flight_requests_and_exits_0(loaded):
    loaded.send(
        Call(5, "lm.generate_stream", {"text": "a b c", "extra_inputs": {"items": {"delay_ms": 100}}})
    )
    loaded.send(Shutdown())
    assert loaded.recv_until_final(5)[-1].code == "CANCELLED"
    assert loaded.wait() == 0


def test_sigterm_exits_0(loaded):
    loaded.process.send_signal(signal.SIGTERM)
    assert loaded.wait() == 0


def test_sigint_is_left_to_the_supervisor(loaded):
    loaded.process.send_signal(signal.SIGINT)
    loaded.send(Call(2, "lm.generate", {"text": "still here"}))
    assert isinstance(loaded.recv(), Result)


def test_a_fatal_error_is_reported_before_exiting_1(loaded):
    loaded.send(Call(2, "lm.generate", {"extra_inputs": {"strings": {"fatal": "device lost"}}}))
    assert loaded.recv() == Fatal("device lost")
    assert loaded.wait() == 1
    assert "fatal: device lost" in loaded.stderr()


def test_a_malformed_frame_is_fatal(loaded):
    loaded.sock.send(b"\x93\x01\x02\x03")
    fatal = loaded.recv()
    assert isinstance(fatal, Fatal)
    assert fatal.message.startswith("protocol error: a message must be a map")
    assert loaded.wait() == 1


def test_exits_when_its_supervisor_is_gone():
    # Pid 1 is never our parent here, so the worker finds its supervisor gone at once.
    orphan = WorkerUnderTest("--supervisor-pid", "1")
    try:
        assert orphan.wait() == 1
        assert "the model server (pid 1) is gone" in orphan.stderr()
    finally:
        orphan.close()
