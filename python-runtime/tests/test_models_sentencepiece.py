"""The SentencePiece tokenizer: §3.2 encoding rules, decoding, §3.6 streaming, model sources, the factory.

Most tests use a tiny model trained here from a few lines of text (byte fallback on, SOS 0, EOS 1, UNK 2),
so they depend on nothing but the sentencepiece package.
"""

import io
import itertools
import random
from pathlib import Path

import pytest
import sentencepiece as spm

from fake_gcs import upload
from sax_worker.models import sentencepiece_tokenizer
from sax_worker.models.byte_tokenizer import ByteTokenizer
from sax_worker.models.sentencepiece_tokenizer import SentencePieceTokenizer
from sax_worker.models.tokenizers import tokenizer_from_dict

TINY_TEXT = """Hello world, hello again. The world is wide and the sea is deep.
A small model reads a few lines of text and learns its pieces.
Streams of text arrive in chunks; the decoder keeps spaces between words.
Help! He held the yellow bell and the world fell still.
"""
BUNDLED = "bundled:sax_test_1000.model"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TINY_TEXT.splitlines()),
        model_writer=model,
        model_type="unigram",
        vocab_size=310,
        hard_vocab_limit=False,
        byte_fallback=True,
        character_coverage=1.0,
        bos_id=0,
        eos_id=1,
        unk_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    path = tmp_path_factory.mktemp("spm") / "tiny.model"
    path.write_bytes(model.getvalue())
    return path


@pytest.fixture(scope="module")
def tok(tiny_model) -> SentencePieceTokenizer:
    return SentencePieceTokenizer.from_dict({"type": "sentencepiece", "path": str(tiny_model)})


def pieces(tok: SentencePieceTokenizer, text: str) -> list[int]:
    return tok.encode(text, max_length=10_000)[1:]


def strings_to_ids(tok, texts, max_length, *, slice_left=True):
    """§3.2 steps 3-4 on top of ``encode``: (ids, labels, paddings), right-padded with 0."""
    ids, labels, paddings = [], [], []
    for text in texts:
        row = tok.encode(text, max_length, slice_left=slice_left)
        pad = [0] * (max_length - len(row))
        ids.append(row + pad)
        labels.append([*row[1:], tok.eos_id, *pad][:max_length])
        paddings.append([0] * len(row) + [1] * len(pad))
    return ids, labels, paddings


# §3.2 encoding


def test_the_spec_worked_example_holds_for_a_vocab_that_splits_like_the_repo_test_vocab(tok):
    h, w = pieces(tok, "Hello"), pieces(tok, "world")
    assert (len(h), len(w)) == (3, 1), "the tiny vocab should split Hello in 3 pieces and world in 1"

    ids, labels, paddings = strings_to_ids(tok, ["Hello", "world"], 5)

    assert ids == [[0, *h, 0], [0, *w, 0, 0, 0]]
    assert labels == [[*h, 1, 0], [*w, 1, 0, 0, 0]]
    assert paddings == [[0, 0, 0, 0, 1], [0, 0, 1, 1, 1]]
    assert strings_to_ids(tok, ["Hello", "world"], 3)[0] == [[0, *h[:2]], [0, *w, 0]]
    assert strings_to_ids(tok, ["Hello", "world"], 3, slice_left=False)[0] == [[0, *h[1:]], [0, *w, 0]]


def test_encode_prepends_sos_and_adds_no_eos(tok):
    ids = tok.encode("Hello world", max_length=64)
    assert ids[0] == 0
    assert tok.eos_id not in ids
    assert tok.decode(ids) == "Hello world"


def test_encode_keeps_the_left_part_within_max_length_minus_one(tok):
    all_ids = pieces(tok, "Streams of text arrive in chunks")
    assert tok.encode("Streams of text arrive in chunks", max_length=4) == [0, *all_ids[:3]]


def test_encode_keeps_the_right_part_when_slicing_right(tok):
    all_ids = pieces(tok, "Streams of text arrive in chunks")
    assert tok.encode("Streams of text arrive in chunks", 4, slice_left=False) == [0, *all_ids[-3:]]


def test_encode_of_the_empty_string_is_just_sos(tok):
    assert tok.encode("", max_length=5) == [0]
    assert tok.encode("Hello", max_length=1) == [0]
    assert strings_to_ids(tok, [""], 4) == ([[0, 0, 0, 0]], [[1, 0, 0, 0]], [[0, 1, 1, 1]])


def test_encode_pieces_drops_sos_with_the_same_budget(tok):
    assert tok.encode_pieces("Hello world", max_length=3) == pieces(tok, "Hello world")[:2]


def test_encode_rejects_a_max_length_below_one(tok):
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        tok.encode("Hello", max_length=0)


def test_characters_outside_the_vocab_fall_back_to_byte_pieces(tok):
    ids = pieces(tok, "€")
    assert [tok.id_to_piece(i) for i in ids[-3:]] == ["<0xE2>", "<0x82>", "<0xAC>"]
    assert tok.decode(ids) == "€"


# decoding


def test_decode_stops_at_eos(tok):
    assert tok.decode([*pieces(tok, "Hello world"), 1, *pieces(tok, "the sea")]) == "Hello world"


def test_decode_maps_out_of_range_ids_to_the_unk_surface(tok):
    ids = [*pieces(tok, "Hello"), tok.min_vocab_size, 10**6, *pieces(tok, "world")]
    assert tok.decode(ids) == "Hello ⁇  ⁇  world"


def test_decode_drops_sos_and_padding(tok):
    assert tok.decode([0, *pieces(tok, "the sea"), 0, 0]) == "the sea"


# §3.6 streaming


def stream(tok: SentencePieceTokenizer, chunks: list[list[int]]) -> list[str]:
    decoder = tok.stream_decoder()
    return [decoder.feed(chunk) for chunk in chunks] + [decoder.flush()]


def random_chunks(rng: random.Random, ids: list[int]) -> list[list[int]]:
    cuts = sorted(rng.sample(range(1, len(ids)), rng.randint(0, len(ids) - 1))) if len(ids) > 1 else []
    bounds = [0, *cuts, len(ids)]
    return [ids[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("seed", range(40))
def test_streamed_chunks_of_random_ids_concatenate_to_decode(tok, seed):
    rng = random.Random(seed)
    byte_ids = [tok.piece_to_id(f"<0x{b:02X}>") for b in (0x20, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xFF)]
    space = tok.piece_to_id("▁")
    pool = [*range(tok.min_vocab_size + 5), *byte_ids * 20, *[space] * 20]
    for _ in range(25):
        ids = [rng.choice(pool) for _ in range(rng.randint(0, 30))]
        ids = [i for i in ids if i != tok.eos_id] if rng.random() < 0.5 else ids
        assert "".join(stream(tok, random_chunks(rng, ids))) == tok.decode(ids), ids


@pytest.mark.parametrize("seed", range(10))
def test_streamed_chunks_of_real_text_concatenate_to_it(tok, seed):
    text = "  Hello  world, é€ the  sea €€ is deep 日本. "
    ids = pieces(tok, text)
    assert "".join(stream(tok, random_chunks(random.Random(seed), ids))) == tok.decode(ids)


def test_stream_withholds_the_bytes_of_a_split_character_until_a_non_byte_piece(tok):
    a, euro, b = pieces(tok, "a"), pieces(tok, "€")[-3:], pieces(tok, "b")
    assert stream(tok, [a + euro[:1], euro[1:2], euro[2:], b]) == ["a", "", "", "€ b", ""]


def test_stream_flushes_withheld_bytes_and_incomplete_characters(tok):
    euro = pieces(tok, "€")[-3:]
    assert stream(tok, [pieces(tok, "a"), euro]) == ["a", "", "€"]
    assert "".join(stream(tok, [pieces(tok, "a"), euro[:2]])) == tok.decode(pieces(tok, "a") + euro[:2])


def test_stream_keeps_leading_spaces_at_chunk_boundaries(tok):
    assert stream(tok, [pieces(tok, "Hello"), pieces(tok, "world"), pieces(tok, "again")]) == [
        "Hello",
        " world",
        " again",
        "",
    ]


def test_stream_drops_the_leading_space_of_the_first_text_like_decode(tok):
    space = tok.piece_to_id("▁")
    assert stream(tok, [[0, space], [space], pieces(tok, "world")]) == ["", "", "world", ""]


def test_stream_emits_nothing_after_eos(tok):
    euro = pieces(tok, "€")[-3:]
    chunks = [pieces(tok, "Hello") + euro, [1, *pieces(tok, "world")], pieces(tok, "the sea")]
    assert stream(tok, chunks) == ["Hello", "€", "", ""]


# model sources


def test_the_bundled_model_has_1000_pieces_with_sos_0_and_eos_1():
    bundled = SentencePieceTokenizer.from_dict({"type": "sentencepiece", "path": BUNDLED})
    assert (bundled.min_vocab_size, bundled.sos_id, bundled.eos_id, bundled.pad_id) == (1000, 0, 1, 0)
    assert [bundled.id_to_piece(i) for i in range(3)] == ["<s>", "</s>", "<unk>"]
    assert bundled.decode(bundled.encode("Return the value, é€.", 64)) == "Return the value, é€."


def test_the_bundled_bench_model_has_32000_pieces_with_llama_s_special_ids():
    config = {"type": "sentencepiece", "path": "bundled:bench_32k.model", "sosId": 1, "eosId": 2}
    bench = SentencePieceTokenizer.from_dict(config)
    assert (bench.min_vocab_size, bench.sos_id, bench.eos_id) == (32000, 1, 2)
    assert [bench.id_to_piece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert (
        bench.decode(bench.encode("def value(self): return 42 # é€", 64)) == "def value(self): return 42 # é€"
    )


@pytest.mark.parametrize("name", ["../x", "../../etc/passwd", "/etc/passwd", "sub/x.model", ".hidden", ""])
def test_bundled_names_cannot_leave_the_assets_folder(name):
    with pytest.raises(ValueError, match="must name a plain file in sax_worker/assets"):
        SentencePieceTokenizer.from_dict({"type": "sentencepiece", "path": f"bundled:{name}"})


def test_an_unknown_bundled_file_names_the_bundled_ones():
    with pytest.raises(ValueError, match=r"no bundled file 'nope.model'.*sax_test_1000.model"):
        SentencePieceTokenizer.from_dict({"type": "sentencepiece", "path": "bundled:nope.model"})


def test_a_missing_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "missing.model"
    with pytest.raises(ValueError, match=r"cannot read .*missing.model.*check the tokenizer path"):
        SentencePieceTokenizer.from_dict({"type": "sentencepiece", "path": str(missing)})


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="is not a SentencePiece model"):
        SentencePieceTokenizer.from_dict({"type": "sentencepiece", "path": str(junk)})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "sentencepiece", "path": BUNDLED, "padId": 0}, "unknown keys"),
        ({"type": "sentencepiece", "path": BUNDLED, "sosId": 1000}, r"sos_id must be an id in 0\.\.999"),
        ({"type": "sentencepiece", "path": BUNDLED, "eosId": -1}, "eos_id must be an id"),
        ({"type": "sentencepiece", "path": ""}, "path must be a non-empty string"),
        ({"type": "sentencepiece", "path": "gs://bucket-only"}, "must look like gs://bucket/object"),
    ],
)
def test_invalid_configs_are_rejected(config, message):
    with pytest.raises(ValueError, match=message):
        SentencePieceTokenizer.from_dict(config)


# factory


def test_the_factory_builds_the_tokenizer_its_type_names(tiny_model):
    assert isinstance(tokenizer_from_dict({"type": "bytes"}), ByteTokenizer)
    spm_tok = tokenizer_from_dict({"type": "sentencepiece", "path": str(tiny_model), "sosId": 0, "eosId": 1})
    assert isinstance(spm_tok, SentencePieceTokenizer)


def test_the_factory_rejects_tiktoken_as_unsupported_for_now():
    with pytest.raises(ValueError, match="needs the LLaMA-3 tiktoken file and is not supported"):
        tokenizer_from_dict({"type": "llama3_tiktoken", "path": "gs://b/tok.model"})


def test_the_factory_names_the_allowed_types_for_an_unknown_one():
    with pytest.raises(ValueError, match="unknown type 'gpt2'; expected one of bytes, sentencepiece"):
        tokenizer_from_dict({"type": "gpt2"})


# gs:// against fake-gcs-server (the fake_gcs fixture is in conftest.py)


def test_a_gs_model_is_read_through_the_gcs_emulator(fake_gcs, tiny_model):
    name = "tok/tiny.model"
    upload(
        f"{fake_gcs}/upload/storage/v1/b/sax-test/o?uploadType=media&name={name}",
        tiny_model.read_bytes(),
        "application/octet-stream",
    )
    loaded = tokenizer_from_dict({"type": "sentencepiece", "path": f"gs://sax-test/{name}"})
    assert loaded.decode(loaded.encode("Hello world", 16)) == "Hello world"


def test_a_missing_gs_object_is_a_clear_error(fake_gcs):
    with pytest.raises(ValueError, match=r"gs://sax-test/none\.model was not found"):
        tokenizer_from_dict({"type": "sentencepiece", "path": "gs://sax-test/none.model"})


def test_an_unreachable_gcs_endpoint_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TENSORSTORE_GCS_HTTP_URL", "http://127.0.0.1:1")
    monkeypatch.setattr(sentencepiece_tokenizer, "GCS_RETRIES", {"max_retries": 1, "initial_delay": "10ms"})
    with pytest.raises(ValueError, match=r"cannot read gs://sax-test/x\.model .*check network access"):
        tokenizer_from_dict({"type": "sentencepiece", "path": "gs://sax-test/x.model"})
