"""The byte tokenizer's id layout and Saxml's SOS/EOS/truncation rules (spec data-plane §3.2)."""

import pytest

from sax_worker.models.byte_tokenizer import ByteTokenizer

TOK = ByteTokenizer(sos_id=256, eos_id=257, pad_id=258)


def test_encode_prepends_sos_to_the_utf8_bytes():
    assert TOK.encode("Hé", max_length=8) == [256, 72, 0xC3, 0xA9]


def test_encode_keeps_the_left_part_within_max_length_minus_one():
    assert TOK.encode("Hello", max_length=3) == [256, ord("H"), ord("e")]


def test_encode_keeps_the_right_part_when_slicing_right():
    assert TOK.encode("Hello", max_length=3, slice_left=False) == [256, ord("l"), ord("o")]
    assert TOK.encode("Hi", max_length=8, slice_left=False) == [256, ord("H"), ord("i")]


def test_encode_of_the_empty_string_is_just_sos():
    assert TOK.encode("", max_length=5) == [256]
    assert TOK.encode("abc", max_length=1) == [256]


def test_encode_pieces_drops_sos_with_the_same_budget():
    assert TOK.encode_pieces("abc", max_length=3) == [ord("a"), ord("b")]


def test_decode_stops_at_eos_and_drops_other_specials_and_non_byte_ids():
    ids = [256, ord("o"), 300, ord("k"), 258, 257, ord("x")]
    assert TOK.decode(ids) == "ok"


def test_decode_replaces_invalid_utf8():
    assert TOK.decode([0xFF, ord("a")]) == "\ufffda"


def test_stream_decoder_withholds_a_split_character_until_it_completes():
    decoder = TOK.stream_decoder()
    euro = "€".encode()

    chunks = [decoder.feed([ord("a"), euro[0]]), decoder.feed(euro[1:]), decoder.feed([257, ord("z")])]

    assert chunks == ["a", "€", ""]
    assert decoder.flush() == ""


def test_stream_decoder_flushes_an_incomplete_character_as_a_replacement():
    decoder = TOK.stream_decoder()
    assert decoder.feed([0xE2, 0x82]) == ""
    assert decoder.flush() == "\ufffd"


def test_from_dict_reads_the_wire_keys():
    tok = ByteTokenizer.from_dict({"type": "bytes", "sosId": 300, "eosId": 301, "padId": 302})
    assert tok == ByteTokenizer(sos_id=300, eos_id=301, pad_id=302)
    assert tok.min_vocab_size == 303


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "bytes", "bosId": 256}, "unknown keys"),
        ({"type": "sentencepiece"}, "type must be 'bytes'"),
        ({"type": "bytes", "sosId": 1}, "sos_id must be an integer >= 256"),
        ({"type": "bytes", "sosId": 300, "eosId": 300}, "must differ"),
    ],
)
def test_from_dict_rejects_invalid_configs(config, message):
    with pytest.raises(ValueError, match=message):
        ByteTokenizer.from_dict(config)
