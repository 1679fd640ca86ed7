"""The wire protocol between the TypeScript model server (the supervisor) and this worker.

Mirror of ``src/worker/protocol.ts``, whose opening comment is the full description; in short:

- One ZeroMQ frame is one msgpack map (no pickle, no extension types): ``type`` first, then the fields
  in the order of the dataclasses below, optional fields left out when unset.
- The worker's first message is :class:`Ready`; the supervisor refuses a different major version.
- Supervisor to worker: :class:`Load`, :class:`Call`, :class:`Cancel`, :class:`Shutdown`.
  Worker to supervisor: :class:`Result`, :class:`Chunk`, :class:`End`, :class:`ErrorReply`, :class:`Fatal`.
- Requests are multiplexed by ``id``. ``Call.deadline_ms`` is the time left when the supervisor sent it.
- Arrays travel as maps of exactly ``{dtype, shape, data}`` (raw little-endian bytes); they decode to
  :class:`Tensor`, and numpy-like arrays (anything with ``dtype``, ``shape`` and ``tobytes``) encode as one.

``test/fixtures/worker-protocol/golden.json`` holds messages and their bytes, checked on both sides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import msgpack

PROTOCOL_VERSION: Final = "1.0"

# Element types a tensor may carry, with their sizes in bytes (same table as src/worker/tensor.ts).
TENSOR_DTYPES: Final[Mapping[str, int]] = {
    "float32": 4,
    "float64": 8,
    "int32": 4,
    "int64": 8,
    "uint8": 1,
    "bool": 1,
    "bfloat16": 2,
    "float16": 2,
}

_TENSOR_KEYS: Final = frozenset({"dtype", "shape", "data"})


class ProtocolError(Exception):
    """A frame that is not a valid protocol message."""


@dataclass(frozen=True)
class Tensor:
    """An array on the wire: row-major little-endian bytes of ``shape`` elements of ``dtype``."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes

    def __post_init__(self) -> None:
        if self.dtype not in TENSOR_DTYPES:
            raise ProtocolError(f"tensor dtype {self.dtype!r} is not one of {sorted(TENSOR_DTYPES)}")
        count = 1
        for dim in self.shape:
            count *= dim
        want = count * TENSOR_DTYPES[self.dtype]
        if len(self.data) != want:
            got = len(self.data)
            raise ProtocolError(f"tensor {self.dtype}{list(self.shape)} needs {want} bytes, got {got}")


# Field checks: the accepted Python types of each field (bool is rejected where int is expected).
_INT = (int,)
_NUMBER = (int, float)
_MAP = (dict,)
_STR = (str,)


@dataclass(frozen=True)
class Ready:
    """The worker's first message: protocol version, process id, what it can build."""

    TYPE: ClassVar[str] = "ready"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {
        "version": _STR,
        "pid": _INT,
        "worker_id": _STR,
        "capabilities": _MAP,
    }
    version: str
    pid: int
    worker_id: str
    capabilities: dict[str, Any]


@dataclass(frozen=True)
class Load:
    """Build the servable from ``config``; answered by Result ``{methods, streaming_methods, load_info?}``.

    ``load_info`` (numbers by name: parameters, weights_seconds, compile_seconds, checkpoint_bytes) is
    present when the servable reports what loading cost. A failed build is answered by an error.
    """

    TYPE: ClassVar[str] = "load"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {
        "id": _INT,
        "config": _MAP,
        "checkpoint": _STR,
        "seed": _INT,
    }
    id: int
    config: dict[str, Any]
    checkpoint: str
    seed: int


@dataclass(frozen=True)
class Call:
    """Run a data method; ``deadline_ms`` is the budget left when it was sent."""

    TYPE: ClassVar[str] = "call"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {
        "id": _INT,
        "method": _STR,
        "request": _MAP,
        "deadline_ms": _NUMBER,
    }
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"deadline_ms"})
    id: int
    method: str
    request: dict[str, Any]
    deadline_ms: float | None = None


@dataclass(frozen=True)
class Cancel:
    """Stop request ``id``."""

    TYPE: ClassVar[str] = "cancel"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {"id": _INT}
    id: int


@dataclass(frozen=True)
class Shutdown:
    """Cancel what runs, release the model, exit 0."""

    TYPE: ClassVar[str] = "shutdown"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {}


@dataclass(frozen=True)
class Result:
    """The answer to a Load or a unary Call."""

    TYPE: ClassVar[str] = "result"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {"id": _INT, "body": _MAP}
    id: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Chunk:
    """One piece of a streamed answer."""

    TYPE: ClassVar[str] = "chunk"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {"id": _INT, "body": _MAP}
    id: int
    body: dict[str, Any]


@dataclass(frozen=True)
class End:
    """A stream finished."""

    TYPE: ClassVar[str] = "end"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {"id": _INT}
    id: int


@dataclass(frozen=True)
class ErrorReply:
    """Request ``id`` failed; ``code`` is a gRPC code name (wire type ``error``)."""

    TYPE: ClassVar[str] = "error"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {"id": _INT, "code": _STR, "message": _STR}
    id: int
    code: str
    message: str


@dataclass(frozen=True)
class Fatal:
    """The worker cannot go on and exits non-zero right after this."""

    TYPE: ClassVar[str] = "fatal"
    FIELDS: ClassVar[Mapping[str, tuple[type, ...]]] = {"message": _STR}
    message: str


Message = Ready | Load | Call | Cancel | Shutdown | Result | Chunk | End | ErrorReply | Fatal

_CLASSES: Final[Mapping[str, type[Message]]] = {
    cls.TYPE: cls for cls in (Ready, Load, Call, Cancel, Shutdown, Result, Chunk, End, ErrorReply, Fatal)
}


def to_wire(message: Message) -> dict[str, Any]:
    """The message as a plain map: ``type`` first, fields in declaration order, unset optionals omitted."""
    wire: dict[str, Any] = {"type": message.TYPE}
    for field in dataclasses.fields(message):
        value = getattr(message, field.name)
        if value is not None:
            wire[field.name] = value
    return wire


def from_wire(wire: object) -> Message:
    """Validates a decoded map and builds its message; unknown fields are ignored (newer minor versions)."""
    if not isinstance(wire, dict):
        raise ProtocolError(f"a message must be a map, got {type(wire).__name__}")
    cls = _CLASSES.get(wire.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise ProtocolError(f"unknown message type {wire.get('type')!r}")
    optional: frozenset[str] = getattr(cls, "OPTIONAL", frozenset())
    values: dict[str, Any] = {}
    for name, types in cls.FIELDS.items():
        if name not in wire and name in optional:
            continue
        if name not in wire:
            raise ProtocolError(f"{cls.TYPE}: missing field {name!r}")
        value = wire[name]
        if isinstance(value, bool) or not isinstance(value, types):
            raise ProtocolError(f"{cls.TYPE}.{name}: unexpected {type(value).__name__}")
        if name == "id" and value <= 0:
            raise ProtocolError(f"{cls.TYPE}.id must be positive, got {value}")
        values[name] = value
    return cls(**values)


def encode(message: Message) -> bytes:
    """One frame for ``message``."""
    return msgpack.packb(to_wire(message), use_bin_type=True, default=_encode_extra)


def decode(frame: bytes) -> Message:
    """The message in ``frame``; raises ProtocolError when it is not one."""
    try:
        wire = msgpack.unpackb(frame, raw=False, object_hook=_decode_map)
    except ProtocolError:
        raise
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise ProtocolError(f"undecodable frame ({len(frame)} bytes): {exc}") from exc
    return from_wire(wire)


def as_tensor(value: Mapping[str, Any]) -> Tensor | Mapping[str, Any]:
    """A Tensor for a map of exactly ``{dtype, shape, data: bytes}``, else the map unchanged."""
    if set(value) != _TENSOR_KEYS or not isinstance(value["data"], bytes):
        return value
    shape = value["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ProtocolError(f"tensor shape must be a list of non-negative ints, got {shape!r}")
    return Tensor(str(value["dtype"]), tuple(shape), value["data"])


def _decode_map(value: dict[str, Any]) -> Any:
    return as_tensor(value)


def _encode_extra(value: Any) -> Any:
    if isinstance(value, Tensor):
        return {"dtype": value.dtype, "shape": list(value.shape), "data": value.data}
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "dtype") and hasattr(value, "shape") and hasattr(value, "tobytes"):
        # numpy and JAX arrays (and their scalars), without importing either.
        if value.shape == ():
            return value.item()
        return _encode_extra(Tensor(str(value.dtype), tuple(value.shape), value.tobytes()))
    raise TypeError(f"cannot put a {type(value).__name__} on the worker wire")
