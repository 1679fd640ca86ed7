"""The worker wire protocol: golden frames shared with vitest, and validation of what comes in."""

from __future__ import annotations

import msgpack
import pytest

from sax_worker.protocol import (
    Call,
    ErrorReply,
    ProtocolError,
    Result,
    Shutdown,
    Tensor,
    decode,
    encode,
    from_wire,
)
from worker_golden import from_json, load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_decodes_golden_frames_to_their_messages(case):
    assert decode(bytes.fromhex(case["hex"])) == from_wire(from_json(case["message"]))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_round_trips_golden_messages(case):
    message = from_wire(from_json(case["message"]))
    assert decode(encode(message)) == message


@pytest.mark.parametrize("case", [c for c in CASES if c["exact"]], ids=lambda c: c["name"])
def test_encodes_golden_messages_byte_for_byte(case):
    assert encode(from_wire(from_json(case["message"]))).hex() == case["hex"]


def test_leaves_out_an_unset_deadline():
    wire = msgpack.unpackb(encode(Call(1, "lm.generate", {"text": "x"})))
    assert list(wire) == ["type", "id", "method", "request"]


def test_ignores_fields_it_does_not_know():
    frame = msgpack.packb({"type": "shutdown", "reason": "newer minor version"})
    assert decode(frame) == Shutdown()


@pytest.mark.parametrize(
    ("wire", "error"),
    [
        ([1, 2], "must be a map"),
        ({"type": "bogus"}, "unknown message type 'bogus'"),
        ({"type": "cancel"}, "cancel: missing field 'id'"),
        ({"type": "cancel", "id": "7"}, "cancel.id: unexpected str"),
        ({"type": "cancel", "id": True}, "cancel.id: unexpected bool"),
        ({"type": "cancel", "id": 0}, "cancel.id must be positive"),
        ({"type": "call", "id": 1, "method": "m", "request": []}, "call.request: unexpected list"),
    ],
)
def test_rejects_malformed_messages(wire, error):
    with pytest.raises(ProtocolError, match=error.replace("(", r"\(")):
        decode(msgpack.packb(wire))


def test_rejects_bytes_that_are_not_msgpack():
    with pytest.raises(ProtocolError, match="undecodable frame"):
        decode(b"\xc1")


def test_rejects_a_tensor_whose_data_does_not_fit_its_shape():
    frame = msgpack.packb(
        {"type": "result", "id": 1, "body": {"t": {"dtype": "float32", "shape": [3], "data": b"\0" * 8}}}
    )
    with pytest.raises(ProtocolError, match=r"float32\[3\] needs 12 bytes, got 8"):
        decode(frame)


class _FakeArray:
    """Quacks like a numpy array, so the test needs no numpy."""

    def __init__(self, dtype: str, shape: tuple[int, ...], data: bytes, item: float = 0.0) -> None:
        self.dtype, self.shape, self._data, self._item = dtype, shape, data, item

    def tobytes(self) -> bytes:
        return self._data

    def item(self) -> float:
        return self._item


def test_encodes_array_likes_as_tensors_and_scalars_as_numbers():
    body = {"v": _FakeArray("float32", (2,), b"\0" * 8), "s": _FakeArray("float32", (), b"", item=1.5)}
    decoded = decode(encode(Result(1, body)))
    assert decoded == Result(1, {"v": Tensor("float32", (2,), b"\0" * 8), "s": 1.5})


def test_refuses_to_encode_objects_that_are_not_data():
    with pytest.raises(TypeError, match="cannot put a object on the worker wire"):
        encode(Result(1, {"x": object()}))


def test_encodes_error_replies_with_code_and_message():
    wire = msgpack.unpackb(encode(ErrorReply(3, "NOT_FOUND", "nope")))
    assert wire == {"type": "error", "id": 3, "code": "NOT_FOUND", "message": "nope"}
