"""A SentencePiece tokenizer with Saxml's SOS/EOS/truncation rules (spec data-plane §3.2, §3.6).

Encoding is the model's plain piece encoding (no special tokens), truncated to ``max_length - 1`` ids and
prefixed with SOS; padding uses id 0. Decoding maps ids outside the vocabulary to UNK (surface " ⁇ ") and
stops at the first EOS: the configured ``eos_id`` or the model's own EOS piece.

Streaming (``stream_decoder``) follows §3.6: trailing byte-fallback pieces (``<0x..>``) are withheld until
a non-byte piece arrives, because SentencePiece only assembles a multi-byte character from bytes decoded
together; once some text has been emitted, each chunk is decoded behind a fake leading "a" that is then cut
off, because SentencePiece drops the leading space of the first piece it decodes. Concatenating the chunks
gives exactly ``decode`` of all ids.

The model file comes from a local path, ``gs://bucket/object`` (tensorstore's GCS driver, which honours
TENSORSTORE_GCS_HTTP_URL for emulators) or ``bundled:<file>`` (a file in ``sax_worker/assets``).
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sentencepiece as spm
import tensorstore as ts

#: Padding id of every SentencePiece tokenizer (spec §3.2 right-pads ids and labels with 0).
PAD_ID = 0
BUNDLED_PREFIX = "bundled:"
GCS_PREFIX = "gs://"
#: How long reading a ``gs://`` model may take, retries included.
GCS_READ_TIMEOUT_S = 60.0
#: tensorstore's ``gcs_request_retries`` for ``gs://`` reads: a few quick retries of transient failures.
GCS_RETRIES = {"max_retries": 4, "initial_delay": "0.5s", "max_delay": "8s"}

_KEYS = frozenset({"type", "path", "sosId", "eosId"})
# A bundled name is one plain file name inside sax_worker/assets: no separators, no leading dot.
_BUNDLED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Decoded in front of a chunk so that the chunk's leading "▁" is not taken for the start of the text.
_FAKE_PREFIX = "a"


class SentencePieceTokenizer:
    """A SentencePiece model plus the SOS/EOS ids the servable configured."""

    def __init__(
        self, model_proto: bytes, *, sos_id: int = 0, eos_id: int = 1, source: str = "model"
    ) -> None:
        try:
            self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        except (RuntimeError, OSError, TypeError) as err:
            raise ValueError(
                f"sentencepiece tokenizer: {source} is not a SentencePiece model ({err})"
            ) from err
        self.vocab_size = self._sp.get_piece_size()
        for name, value in (("sos_id", sos_id), ("eos_id", eos_id)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < self.vocab_size:
                raise ValueError(
                    f"sentencepiece tokenizer: {name} must be an id in 0..{self.vocab_size - 1} of {source}, "
                    f"got {value!r}"
                )
        self.sos_id = sos_id
        self.eos_id = eos_id
        self.pad_id = PAD_ID
        self._stop_ids = frozenset(i for i in (eos_id, self._sp.eos_id()) if i >= 0)
        self._fake_prefix_ids: list[int] = self._sp.encode(_FAKE_PREFIX)
        if self._sp.decode(self._fake_prefix_ids) != _FAKE_PREFIX:
            raise ValueError(f"sentencepiece tokenizer: {source} does not round-trip {_FAKE_PREFIX!r}")

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> SentencePieceTokenizer:
        """Parses ``{"type": "sentencepiece", "path", "sosId", "eosId"}`` (ids default to 0 and 1)."""
        unknown = sorted(set(config) - _KEYS)
        if unknown:
            raise ValueError(
                f"sentencepiece tokenizer: unknown keys {unknown}; expected a subset of {sorted(_KEYS)}"
            )
        if config.get("type") != "sentencepiece":
            raise ValueError(
                f"sentencepiece tokenizer: type must be 'sentencepiece', got {config.get('type')!r}"
            )
        path = config.get("path")
        if not isinstance(path, str) or not path:
            raise ValueError(f"sentencepiece tokenizer: path must be a non-empty string, got {path!r}")
        return cls(
            read_model_file(path),
            sos_id=config.get("sosId", 0),
            eos_id=config.get("eosId", 1),
            source=path,
        )

    @property
    def min_vocab_size(self) -> int:
        """The smallest model vocabulary that holds every id this tokenizer produces: its piece count."""
        return self.vocab_size

    def encode(self, text: str, max_length: int, *, slice_left: bool = True) -> list[int]:
        """[SOS] + the text's pieces truncated to ``max_length - 1`` (keeping the left part by default).

        The result has 1..max_length ids; ``encode("", n)`` is ``[SOS]``.
        """
        if max_length < 1:
            raise ValueError(f"sentencepiece tokenizer: max_length must be >= 1, got {max_length}")
        ids = self._sp.encode(text)
        budget = max_length - 1
        kept = ids[:budget] if slice_left else ids[max(0, len(ids) - budget) :]
        return [self.sos_id, *kept]

    def encode_pieces(self, text: str, max_length: int) -> list[int]:
        """The text's piece ids without SOS, truncated to ``max_length - 1`` keeping the left part."""
        return self.encode(text, max_length)[1:]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of the ids up to the first EOS; ids outside the vocabulary decode as UNK."""
        clean, _ = self._until_eos(ids)
        return self._sp.decode(clean)

    def stream_decoder(self) -> SentencePieceStreamDecoder:
        """An incremental decoder for one stream (spec §3.6)."""
        return SentencePieceStreamDecoder(self)

    def id_to_piece(self, token_id: int) -> str:
        """The piece of an id in the vocabulary (``<0x..>`` for byte-fallback pieces)."""
        return self._sp.id_to_piece(token_id)

    def piece_to_id(self, piece: str) -> int:
        """The id of a piece; the UNK id when the vocabulary has no such piece."""
        return self._sp.piece_to_id(piece)

    def is_byte(self, token_id: int) -> bool:
        """Whether the id is a byte-fallback piece (``<0x..>``)."""
        return self._sp.is_byte(token_id)

    def _until_eos(self, ids: Iterable[int]) -> tuple[list[int], bool]:
        """(the ids before the first EOS with out-of-range ids made UNK, whether an EOS was seen)."""
        unk = self._sp.unk_id()
        clean = []
        for raw in ids:
            i = int(raw)
            if i in self._stop_ids:
                return clean, True
            clean.append(i if 0 <= i < self.vocab_size else unk)
        return clean, False

    def _decode_continuing(self, ids: list[int]) -> str:
        """Text of ``ids`` when they follow text already decoded: leading "▁" pieces stay spaces."""
        text = self._sp.decode([*self._fake_prefix_ids, *ids])
        assert text.startswith(_FAKE_PREFIX), text
        return text[len(_FAKE_PREFIX) :]


class SentencePieceStreamDecoder:
    """Decodes a stream of id chunks into text chunks whose concatenation equals ``decode`` of all ids."""

    def __init__(self, tokenizer: SentencePieceTokenizer) -> None:
        self._tokenizer = tokenizer
        self._withheld: list[int] = []  # trailing byte pieces not yet decoded
        self._started = False  # some text was emitted: later chunks keep their leading spaces
        self._ended = False

    def feed(self, ids: Iterable[int]) -> str:
        """Text completed by ``ids``; nothing after the first EOS."""
        if self._ended:
            return ""
        new, self._ended = self._tokenizer._until_eos(ids)
        pending = [*self._withheld, *new]
        cut = len(pending)
        if not self._ended:  # after EOS nothing can complete a character: decode everything now
            while cut > 0 and self._tokenizer.is_byte(pending[cut - 1]):
                cut -= 1
        self._withheld = pending[cut:]
        return self._emit(pending[:cut])

    def flush(self) -> str:
        """Whatever is still withheld (the bytes of an incomplete character decode as U+FFFD)."""
        withheld, self._withheld = self._withheld, []
        return self._emit(withheld)

    def _emit(self, ids: list[int]) -> str:
        if not ids:
            return ""
        if self._started:
            return self._tokenizer._decode_continuing(ids)
        text = self._tokenizer.decode(ids)  # no EOS or out-of-range ids are left here
        self._started = bool(text)
        return text


def read_model_file(path: str) -> bytes:
    """The bytes of a tokenizer file named by a local path, ``gs://bucket/object`` or ``bundled:<file>``."""
    if path.startswith(BUNDLED_PREFIX):
        return _read_bundled(path[len(BUNDLED_PREFIX) :])
    if path.startswith(GCS_PREFIX):
        return _read_gcs(path)
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise ValueError(
            f"sentencepiece tokenizer: cannot read {path!r} ({err.strerror or err}); check the tokenizer path"
        ) from err


def bundled_names() -> list[str]:
    """The files in sax_worker/assets, which ``bundled:<file>`` may name."""
    assets = importlib.resources.files("sax_worker").joinpath("assets")
    return sorted(entry.name for entry in assets.iterdir() if entry.is_file()) if assets.is_dir() else []


def _read_bundled(name: str) -> bytes:
    if not _BUNDLED_NAME.fullmatch(name):
        raise ValueError(
            f"sentencepiece tokenizer: bundled:{name} must name a plain file in sax_worker/assets "
            "(letters, digits, '.', '_', '-'; no directories)"
        )
    if name not in bundled_names():
        raise ValueError(
            f"sentencepiece tokenizer: no bundled file {name!r}; bundled files: {bundled_names()}"
        )
    return importlib.resources.files("sax_worker").joinpath("assets", name).read_bytes()


def _read_gcs(url: str) -> bytes:
    bucket, _, key = url[len(GCS_PREFIX) :].partition("/")
    if not bucket or not key:
        raise ValueError(f"sentencepiece tokenizer: {url!r} must look like gs://bucket/object")
    spec = {"driver": "gcs", "bucket": bucket, "context": {"gcs_request_retries": GCS_RETRIES}}
    try:
        store = ts.KvStore.open(spec).result(timeout=GCS_READ_TIMEOUT_S)
        result = store.read(key).result(timeout=GCS_READ_TIMEOUT_S)
    except (ValueError, TimeoutError, RuntimeError) as err:
        raise ValueError(
            f"sentencepiece tokenizer: cannot read {url} ({err}); check network access and GCS credentials "
            "(TENSORSTORE_GCS_HTTP_URL selects an emulator)"
        ) from err
    if result.state != "value":
        raise ValueError(f"sentencepiece tokenizer: {url} was not found; check the bucket and object name")
    return bytes(result.value)
