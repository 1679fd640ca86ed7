"""WorkerCore without sockets: load, dispatch, streams, cancellation, deadlines, error mapping."""

from __future__ import annotations

from typing import ClassVar

import pytest

from sax_worker.core import WorkerCore
from sax_worker.errors import FatalError
from sax_worker.protocol import Call, Cancel, Chunk, End, ErrorReply, Load, Message, Result, encode
from sax_worker.servables.registry import BUILDERS
from sax_worker.testing.echo import EchoServable


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A core whose replies land in ``sent`` (encoded first, as proc.py does)."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.clock = FakeClock()
        self.core = WorkerCore(self._emit, clock=self.clock)

    def _emit(self, message: Message) -> None:
        encode(message)
        self.sent.append(message)

    def load(self, **config: object) -> list[Message]:
        return self.handle(Load(1, {"kind": "echo", **config}, "None", 7))

    def handle(self, message: Load | Call | Cancel) -> list[Message]:
        self.sent.clear()
        self.core.handle(message)
        self.core.step()
        return list(self.sent)

    def call(self, method: str, request_id: int = 2, **request: object) -> list[Message]:
        return self.handle(Call(request_id, method, dict(request)))


@pytest.fixture
def loaded() -> Harness:
    harness = Harness()
    harness.load()
    return harness


def switches(**strings: str) -> dict[str, object]:
    return {"strings": strings}


def test_load_reports_the_servables_methods():
    assert Harness().load() == [
        Result(
            1,
            {
                "methods": ["lm.embed", "lm.generate", "lm.generate_stream", "lm.score"],
                "streaming_methods": ["lm.generate_stream"],
            },
        )
    ]


class MeasuredEcho(EchoServable):
    """An echo servable that records what loading cost, as LM servables do (a flag is not a statistic)."""

    load_info: ClassVar[dict[str, object]] = {
        "parameters": 1234,
        "weights_seconds": 0.5,
        "checkpoint_bytes": 0.0,
        "cached": True,
    }


def test_load_reports_what_loading_cost_when_the_servable_records_it():
    sent: list[Message] = []
    core = WorkerCore(sent.append, builders={"echo": MeasuredEcho.from_config})
    core.handle(Load(1, {"kind": "echo"}, "None", 7))
    [reply] = sent
    assert isinstance(reply, Result)
    assert reply.body["load_info"] == {"parameters": 1234.0, "weights_seconds": 0.5, "checkpoint_bytes": 0.0}
    encode(reply)


def test_load_of_an_unknown_kind_is_invalid_argument():
    [reply] = Harness().handle(Load(1, {"kind": "nope"}, "None", 0))
    assert reply == ErrorReply(
        1,
        "INVALID_ARGUMENT",
        f"unknown servable kind 'nope'; this worker builds: {', '.join(sorted(BUILDERS))}",
    )


def test_load_value_error_is_invalid_argument():
    [reply] = Harness().load(fail_load="value")
    assert reply == ErrorReply(1, "INVALID_ARGUMENT", "echo: fail_load=value was requested")


def test_load_other_errors_are_internal_loading_errors():
    [reply] = Harness().load(fail_load="runtime")
    assert reply == ErrorReply(
        1, "INTERNAL", "Loading error: RuntimeError: echo: fail_load=runtime was requested"
    )


def test_refuses_a_second_load(loaded):
    [reply] = loaded.load()
    assert reply == ErrorReply(1, "FAILED_PRECONDITION", "a model is already loaded")


def test_refuses_calls_before_a_load():
    [reply] = Harness().call("lm.generate", text="hi")
    assert reply == ErrorReply(2, "FAILED_PRECONDITION", "no model is loaded in this worker")


def test_generate_answers_deterministically(loaded):
    assert loaded.call("lm.generate", text="hello world") == [
        Result(2, {"texts": [{"text": "DLROW OLLEH", "score": -1.0}]})
    ]


def test_score_and_embed_answer(loaded):
    [score] = loaded.call("lm.score", prefix="ab", suffix=["c", "def"])
    [embed] = loaded.call("lm.embed", text="x")
    assert score == Result(2, {"logp": [-0.75, -1.25]})
    assert isinstance(embed, Result)
    assert len(embed.body["embedding"]) == 8


def test_unknown_method_is_invalid_argument(loaded):
    [reply] = loaded.call("vm.classify")
    assert isinstance(reply, ErrorReply)
    assert reply.code == "INVALID_ARGUMENT"
    assert reply.message.startswith("method vm.classify is not served")


def test_undeclared_extra_inputs_are_invalid_argument(loaded):
    [reply] = loaded.call("lm.generate", text="x", extra_inputs={"items": {"top_k": 3}})
    assert reply == ErrorReply(
        2, "INVALID_ARGUMENT", "extra_inputs.items has undeclared keys ['top_k']; declared: ['delay_ms']"
    )


@pytest.mark.parametrize(
    ("strings", "code", "message"),
    [
        ({"fail": "RESOURCE_EXHAUSTED"}, "RESOURCE_EXHAUSTED", "echo: failure RESOURCE_EXHAUSTED requested"),
        ({"raise": "ValueError"}, "INVALID_ARGUMENT", "echo: ValueError requested"),
        (
            {"raise": "RuntimeError"},
            "INTERNAL",
            "lm.generate failed: RuntimeError: echo: RuntimeError requested",
        ),
    ],
)
def test_maps_method_failures_to_codes(loaded, strings, code, message):
    [reply] = loaded.call("lm.generate", text="x", extra_inputs={"strings": strings})
    assert reply == ErrorReply(2, code, message)


def test_a_fatal_error_escapes_the_core(loaded):
    loaded.core.handle(Call(2, "lm.generate", {"extra_inputs": switches(fatal="device lost")}))
    with pytest.raises(FatalError, match="device lost"):
        loaded.core.step()


def test_a_reply_that_cannot_be_encoded_fails_only_its_request(loaded, monkeypatch):
    monkeypatch.setattr(type(loaded.core._servable), "call", lambda self, method, request: {"x": object()})
    [reply] = loaded.call("lm.generate", text="x")
    assert reply == ErrorReply(
        2, "INTERNAL", "lm.generate failed: TypeError: cannot put a object on the worker wire"
    )


def test_stream_yields_one_chunk_per_step_then_ends(loaded):
    loaded.core.handle(Call(5, "lm.generate_stream", {"text": "a bb"}))
    steps = []
    while loaded.core.busy:
        loaded.sent.clear()
        loaded.core.step()
        steps.append(list(loaded.sent))
    assert steps == [
        [Chunk(5, {"items": [{"text": "A", "prefix_len": 0, "scores": [-0.5]}]})],
        [Chunk(5, {"items": [{"text": " BB", "prefix_len": 1, "scores": [-1.0]}]})],
        [End(5)],
    ]


def test_streams_interleave_chunk_by_chunk(loaded):
    loaded.core.handle(Call(5, "lm.generate_stream", {"text": "a b"}))
    loaded.core.handle(Call(6, "lm.generate_stream", {"text": "c d"}))
    loaded.sent.clear()
    loaded.core.step()
    assert [m.id for m in loaded.sent] == [5, 6]


def test_cancel_stops_a_stream_at_its_next_chunk(loaded):
    loaded.call("lm.generate_stream", request_id=5, text="a b c")
    assert loaded.handle(Cancel(5)) == [ErrorReply(5, "CANCELLED", "request 5 was cancelled")]
    loaded.core.step()
    assert not loaded.core.busy


def test_cancel_of_a_finished_request_says_nothing(loaded):
    loaded.call("lm.generate", text="x")
    assert loaded.handle(Cancel(2)) == []


def test_an_expired_deadline_is_deadline_exceeded(loaded):
    loaded.call("lm.generate_stream", request_id=5, text="a b c")
    loaded.core.handle(Call(6, "lm.generate", {"text": "x"}, deadline_ms=50))
    loaded.clock.now += 0.05
    loaded.sent.clear()
    loaded.core.step()
    assert ErrorReply(6, "DEADLINE_EXCEEDED", "lm.generate request 6 passed its deadline") in loaded.sent


def test_refuses_a_request_id_already_in_flight(loaded):
    loaded.call("lm.generate_stream", request_id=5, text="a b c")
    assert loaded.handle(Call(5, "lm.generate", {"text": "x"}))[0] == ErrorReply(
        5, "INVALID_ARGUMENT", "request id 5 is already in flight"
    )


def test_shutdown_cancels_what_is_in_flight(loaded):
    loaded.call("lm.generate_stream", request_id=5, text="a b c")
    loaded.sent.clear()
    loaded.core.shutdown()
    assert loaded.sent == [ErrorReply(5, "CANCELLED", "request 5 was cancelled by shutdown")]
    assert loaded.call("lm.generate", text="x")[0].code == "FAILED_PRECONDITION"
