"""The hand-written Sax wire codec against byte strings worked out from the protobuf encoding rules."""

import pytest

import sax_wire as w


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (2**31 - 1, b"\xff\xff\xff\xff\x07"),
        (-1, b"\xff" * 9 + b"\x01"),
        (-2, b"\xfe" + b"\xff" * 8 + b"\x01"),
    ],
)
def test_varint_encodes_and_reads_back(value, encoded):
    assert w.varint(value) == encoded
    raw, end = w.read_varint(encoded, 0)
    assert end == len(encoded)
    assert w.as_int32(raw) == value


def test_location_file_content_decodes_to_its_address():
    content = b"\x0a\x0f127.0.0.1:10000"
    assert w.decode_location(content) == "127.0.0.1:10000"


def test_publish_request_puts_the_model_in_field_2():
    request = w.publish_request(w.Model(model_id="/sax/test/m"))
    assert request == b"\x12\x0d" + b"\x0a\x0b/sax/test/m"


def test_model_encodes_every_field_with_saxml_numbers():
    model = w.Model(
        model_id="/sax/t/m",
        model_path="P",
        checkpoint_path="None",
        requested_num_replicas=2,
        acls={"lm.generate": ""},
        admin_acl="a",
        overrides={"K": "V"},
        uuid=b"\x01\x02",
        method_names=["lm.score"],
    )
    assert model.encode() == (
        b"\x0a\x08/sax/t/m"
        + b"\x12\x01P"
        + b"\x1a\x04None"
        + b"\x20\x02"
        + b"\x2a\x0f" + b"\x0a\x0d" + b"\x0a\x0blm.generate"  # acls{items{key}} (empty value omitted)
        + b"\x32\x01a"
        + b"\x3a\x06" + b"\x0a\x01K\x12\x01V"
        + b"\x42\x02\x01\x02"
        + b"\x4a\x08lm.score"
    )  # fmt: skip
    assert w.Model.decode(model.encode()) == model


def test_negative_replicas_encode_as_ten_byte_varint():
    encoded = w.Model(requested_num_replicas=-1).encode()
    assert encoded == b"\x20" + b"\xff" * 9 + b"\x01"
    assert w.Model.decode(encoded).requested_num_replicas == -1


def test_default_scalars_are_left_out():
    assert w.Model().encode() == b""
    assert w.list_request("") == b""
    assert w.watch_loc_request("/sax/t/m", 0, "") == b"\x0a\x08/sax/t/m"


def test_request_messages_use_saxml_field_numbers():
    assert w.unpublish_request("/sax/t/m") == b"\x0a\x08/sax/t/m"
    assert w.list_request("/sax/t/m") == b"\x0a\x08/sax/t/m"
    assert w.wait_for_ready_request("/sax/t/m", 3) == b"\x0a\x08/sax/t/m\x10\x03"
    assert w.watch_loc_request("/sax/t/m", -1, "id") == (
        b"\x0a\x08/sax/t/m" + b"\x10" + b"\xff" * 9 + b"\x01" + b"\x1a\x02id"
    )


def test_list_response_decodes_published_models():
    model = b"\x0a\x08/sax/t/m\x12\x01P"
    published = b"\x0a" + bytes([len(model)]) + model + b"\x12\x0e127.0.0.1:1234"
    response = b"\x0a" + bytes([len(published)]) + published
    assert w.decode_list_response(response) == [
        w.PublishedModel(
            model=w.Model(model_id="/sax/t/m", model_path="P"), modelet_addresses=["127.0.0.1:1234"]
        )
    ]
    assert w.decode_list_response(b"") == []


def test_watch_loc_response_decodes_result_and_changelog():
    mutations = b"\x22\x03\x0a\x01A" + b"\x22\x03\x12\x01B"  # changelog: +A, -B
    result = b"\x08\x02\x10\x01\x1a\x01C" + mutations
    response = b"\x0a" + bytes([len(result)]) + result + b"\x12\x04x:1_"
    assert w.WatchLocResponse.decode(response) == w.WatchLocResponse(
        result=w.WatchResult(
            next_seqno=2,
            has_fullset=True,
            values=["C"],
            changelog=[w.Mutation(addition="A"), w.Mutation(deletion="B")],
        ),
        admin_server_id="x:1_",
    )


def test_empty_watch_result_is_present_but_all_defaults():
    response = w.WatchLocResponse.decode(b"\x0a\x00\x12\x01s")
    assert response == w.WatchLocResponse(result=w.WatchResult(), admin_server_id="s")


def test_decoders_skip_unknown_fields_of_every_wire_type():
    unknown = b"\x78\x05" + b"\x81\x01" + b"\x00" * 8 + b"\x8a\x01\x02hi" + b"\x95\x01" + b"\x00" * 4
    assert w.decode_location(unknown + b"\x0a\x01L") == "L"


@pytest.mark.parametrize(
    "bad",
    [b"\x0a\x05abc", b"\x08", b"\x08" + b"\xff" * 10 + b"\x01", b"\x0b", b"\x00\x00", b"\x0d\x01"],
    ids=["length-past-end", "truncated-varint", "overlong-varint", "group", "field-zero", "short-fixed32"],
)
def test_malformed_bytes_raise_wire_error(bad):
    with pytest.raises(w.WireError):
        list(w.iter_fields(bad))


def test_reflection_list_services_round_trip():
    assert w.reflection_list_services_request() == b"\x3a\x01*"
    services = b"\x0a\x0b\x0a\x09sax.Admin" + b"\x0a\x05\x0a\x03x.Y"
    response = b"\x12\x03\x3a\x01*" + b"\x32" + bytes([len(services)]) + services
    assert w.decode_reflection_list_services(response) == ["sax.Admin", "x.Y"]


def test_reflection_error_response_raises_with_the_server_message():
    error = b"\x08\x0c\x12\x04nope"
    with pytest.raises(w.WireError, match="code 12: nope"):
        w.decode_reflection_list_services(b"\x3a" + bytes([len(error)]) + error)
