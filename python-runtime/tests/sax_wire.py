"""A tiny hand-written protobuf codec for the Sax admin protocol, for tests only.

It deliberately does not use the project's .proto files or any generated code: field numbers come from
the Saxml protocol reference (spec §4.2), so a test built on it checks that our admin speaks Saxml's
wire format, not merely that it agrees with itself.

Encoding follows proto3: scalar fields holding their default value are left out, maps are repeated
entry messages {key = 1, value = 2}, int32 is a varint with negative values sign-extended to 64 bits.
Decoding skips unknown fields, as any protobuf parser does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

VARINT = 0
FIXED64 = 1
LEN = 2
FIXED32 = 5

_U64 = 1 << 64


class WireError(ValueError):
    """Raised when bytes are not a well-formed protobuf message."""


# ---- encoding ------------------------------------------------------------------------------------


def varint(value: int) -> bytes:
    """Encodes an integer as a base-128 varint; negatives as their 64-bit two's complement."""
    if value < 0:
        value += _U64
    if not 0 <= value < _U64:
        raise WireError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def len_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field: a string, bytes or an embedded message, always emitted."""
    return tag(number, LEN) + varint(len(payload)) + payload


def string_field(number: int, value: str) -> bytes:
    return len_field(number, value.encode()) if value else b""


def bytes_field(number: int, value: bytes) -> bytes:
    return len_field(number, value) if value else b""


def int_field(number: int, value: int) -> bytes:
    """An int32/int64/enum field."""
    return tag(number, VARINT) + varint(value) if value else b""


def bool_field(number: int, value: bool) -> bytes:
    return tag(number, VARINT) + b"\x01" if value else b""


def repeated_string_field(number: int, values: list[str]) -> bytes:
    # Repeated elements are emitted even when empty: presence is per element.
    return b"".join(len_field(number, v.encode()) for v in values)


def string_map_field(number: int, items: dict[str, str]) -> bytes:
    return b"".join(
        len_field(number, string_field(1, key) + string_field(2, value)) for key, value in items.items()
    )


# ---- decoding ------------------------------------------------------------------------------------


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Returns (value, next position) of the varint starting at pos."""
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise WireError("truncated varint")
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result & (_U64 - 1), pos


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yields (field number, wire type, value): an int for VARINT/FIXED*, bytes for LEN."""
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos)
            yield number, wire_type, value
        elif wire_type == LEN:
            size, pos = read_varint(buf, pos)
            if pos + size > len(buf):
                raise WireError(f"field {number}: length {size} runs past the end")
            yield number, wire_type, buf[pos : pos + size]
            pos += size
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if pos + size > len(buf):
                raise WireError(f"field {number}: truncated fixed{size * 8}")
            yield number, wire_type, int.from_bytes(buf[pos : pos + size], "little")
            pos += size
        else:
            raise WireError(f"field {number}: unsupported wire type {wire_type}")


def as_int32(raw: int) -> int:
    """Interprets a decoded varint as int32 (truncating as protobuf parsers do)."""
    return (raw + (1 << 31)) % (1 << 32) - (1 << 31)


def _expect(wire_type: int, want: int, number: int, message: str) -> None:
    if wire_type != want:
        raise WireError(f"{message}.{number}: wire type {wire_type}, want {want}")


def _len_value(number: int, wire_type: int, value: int | bytes, message: str) -> bytes:
    _expect(wire_type, LEN, number, message)
    assert isinstance(value, bytes)
    return value


def _int_value(number: int, wire_type: int, value: int | bytes, message: str) -> int:
    _expect(wire_type, VARINT, number, message)
    assert isinstance(value, int)
    return value


def decode_string_map_entry(buf: bytes) -> tuple[str, str]:
    key = value = ""
    for number, wire_type, raw in iter_fields(buf):
        if number == 1:
            key = _len_value(number, wire_type, raw, "MapEntry").decode()
        elif number == 2:
            value = _len_value(number, wire_type, raw, "MapEntry").decode()
    return key, value


# ---- Sax admin messages (spec §4.1, §4.2) --------------------------------------------------------


@dataclass
class Model:
    model_id: str = ""
    model_path: str = ""
    checkpoint_path: str = ""
    requested_num_replicas: int = 0
    acls: dict[str, str] = field(default_factory=dict)  # AccessControlLists.items
    admin_acl: str = ""
    overrides: dict[str, str] = field(default_factory=dict)
    uuid: bytes = b""
    method_names: list[str] = field(default_factory=list)

    def encode(self) -> bytes:
        acls = string_map_field(1, self.acls)
        return b"".join(
            [
                string_field(1, self.model_id),
                string_field(2, self.model_path),
                string_field(3, self.checkpoint_path),
                int_field(4, self.requested_num_replicas),
                len_field(5, acls) if acls else b"",
                string_field(6, self.admin_acl),
                string_map_field(7, self.overrides),
                bytes_field(8, self.uuid),
                repeated_string_field(9, self.method_names),
            ]
        )

    @classmethod
    def decode(cls, buf: bytes) -> Model:
        model = cls()
        for number, wire_type, raw in iter_fields(buf):
            if number == 1:
                model.model_id = _len_value(number, wire_type, raw, "Model").decode()
            elif number == 2:
                model.model_path = _len_value(number, wire_type, raw, "Model").decode()
            elif number == 3:
                model.checkpoint_path = _len_value(number, wire_type, raw, "Model").decode()
            elif number == 4:
                model.requested_num_replicas = as_int32(_int_value(number, wire_type, raw, "Model"))
            elif number == 5:
                for acl_number, acl_type, acl_raw in iter_fields(_len_value(number, wire_type, raw, "Model")):
                    if acl_number == 1:
                        key, value = decode_string_map_entry(
                            _len_value(acl_number, acl_type, acl_raw, "AccessControlLists")
                        )
                        model.acls[key] = value
            elif number == 6:
                model.admin_acl = _len_value(number, wire_type, raw, "Model").decode()
            elif number == 7:
                key, value = decode_string_map_entry(_len_value(number, wire_type, raw, "Model"))
                model.overrides[key] = value
            elif number == 8:
                model.uuid = _len_value(number, wire_type, raw, "Model")
            elif number == 9:
                model.method_names.append(_len_value(number, wire_type, raw, "Model").decode())
        return model


@dataclass
class PublishedModel:
    model: Model | None = None
    modelet_addresses: list[str] = field(default_factory=list)

    @classmethod
    def decode(cls, buf: bytes) -> PublishedModel:
        published = cls()
        for number, wire_type, raw in iter_fields(buf):
            if number == 1:
                published.model = Model.decode(_len_value(number, wire_type, raw, "PublishedModel"))
            elif number == 2:
                published.modelet_addresses.append(
                    _len_value(number, wire_type, raw, "PublishedModel").decode()
                )
        return published


@dataclass
class Mutation:
    """WatchResult.Mutation: exactly one of addition / deletion is set (a oneof)."""

    addition: str | None = None
    deletion: str | None = None

    @classmethod
    def decode(cls, buf: bytes) -> Mutation:
        mutation = cls()
        for number, wire_type, raw in iter_fields(buf):
            # A later oneof member replaces an earlier one, as in any protobuf parser.
            if number == 1:
                mutation = cls(addition=_len_value(number, wire_type, raw, "Mutation").decode())
            elif number == 2:
                mutation = cls(deletion=_len_value(number, wire_type, raw, "Mutation").decode())
        return mutation


@dataclass
class WatchResult:
    next_seqno: int = 0
    has_fullset: bool = False
    values: list[str] = field(default_factory=list)
    changelog: list[Mutation] = field(default_factory=list)

    @classmethod
    def decode(cls, buf: bytes) -> WatchResult:
        result = cls()
        for number, wire_type, raw in iter_fields(buf):
            if number == 1:
                result.next_seqno = as_int32(_int_value(number, wire_type, raw, "WatchResult"))
            elif number == 2:
                result.has_fullset = _int_value(number, wire_type, raw, "WatchResult") != 0
            elif number == 3:
                result.values.append(_len_value(number, wire_type, raw, "WatchResult").decode())
            elif number == 4:
                result.changelog.append(Mutation.decode(_len_value(number, wire_type, raw, "WatchResult")))
        return result


@dataclass
class WatchLocResponse:
    result: WatchResult | None = None
    admin_server_id: str = ""

    @classmethod
    def decode(cls, buf: bytes) -> WatchLocResponse:
        response = cls()
        for number, wire_type, raw in iter_fields(buf):
            if number == 1:
                response.result = WatchResult.decode(_len_value(number, wire_type, raw, "WatchLocResponse"))
            elif number == 2:
                response.admin_server_id = _len_value(number, wire_type, raw, "WatchLocResponse").decode()
        return response


def decode_list_response(buf: bytes) -> list[PublishedModel]:
    """ListResponse{published_models = 1}."""
    return [
        PublishedModel.decode(_len_value(number, wire_type, raw, "ListResponse"))
        for number, wire_type, raw in iter_fields(buf)
        if number == 1
    ]


def decode_location(buf: bytes) -> str:
    """Location{location = 1}, the content of <sax_root>/sax/<cell>/location.proto."""
    location = ""
    for number, wire_type, raw in iter_fields(buf):
        if number == 1:
            location = _len_value(number, wire_type, raw, "Location").decode()
    return location


def publish_request(model: Model) -> bytes:
    """PublishRequest: the model sits in field 2 (field 1 is unused in Saxml)."""
    return len_field(2, model.encode())


def unpublish_request(model_id: str) -> bytes:
    return string_field(1, model_id)


def list_request(model_id: str = "") -> bytes:
    return string_field(1, model_id)


def watch_loc_request(model_id: str, seqno: int, admin_server_id: str = "") -> bytes:
    return string_field(1, model_id) + int_field(2, seqno) + string_field(3, admin_server_id)


def wait_for_ready_request(model_id: str, num_replicas: int) -> bytes:
    return string_field(1, model_id) + int_field(2, num_replicas)


# ---- gRPC server reflection (grpc/reflection/v1{,alpha}/reflection.proto; same numbers in both) ----


def reflection_list_services_request() -> bytes:
    """ServerReflectionRequest{list_services = 7}; the field's text is ignored by servers."""
    return len_field(7, b"*")


def decode_reflection_list_services(buf: bytes) -> list[str]:
    """Service names from a ServerReflectionResponse{list_services_response = 6}.

    Raises WireError carrying the server's message for an error_response (field 7).
    """
    names: list[str] = []
    for number, wire_type, raw in iter_fields(buf):
        if number == 6:
            for svc_number, svc_type, svc_raw in iter_fields(_len_value(number, wire_type, raw, "Response")):
                if svc_number == 1:
                    service = _len_value(svc_number, svc_type, svc_raw, "ListServiceResponse")
                    for name_number, name_type, name_raw in iter_fields(service):
                        if name_number == 1:
                            names.append(_len_value(name_number, name_type, name_raw, "Service").decode())
        elif number == 7:
            error = dict((n, v) for n, _, v in iter_fields(_len_value(number, wire_type, raw, "Response")))
            message = error.get(2, b"")
            raise WireError(
                f"reflection error_response: code {error.get(1)}: "
                f"{message.decode() if isinstance(message, bytes) else message}"
            )
    return names
