"""A byte-level tokenizer for small models, with Saxml's SOS/EOS/truncation rules (spec data-plane §3.2).

Id layout: ids 0..255 are the UTF-8 bytes of the text; the specials SOS, EOS and PAD take ids >= 256
(@default SOS 256, EOS 257, PAD 258, so a vocabulary of 259 uses every id). Ids >= 256 that are not specials
(a model may pad its vocabulary) decode to nothing, like the UNK mapping of SentencePiece decoding.
Decoding stops at the first EOS and replaces invalid UTF-8 with U+FFFD.
"""

from __future__ import annotations

import codecs
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

NUM_BYTES = 256
_KEYS = {"type": "type", "sosId": "sos_id", "eosId": "eos_id", "padId": "pad_id"}


@dataclasses.dataclass(frozen=True)
class ByteTokenizer:
    """Bytes as ids 0..255 plus configurable special ids (each >= 256)."""

    sos_id: int = 256
    eos_id: int = 257
    pad_id: int = 258

    def __post_init__(self) -> None:
        for name in ("sos_id", "eos_id", "pad_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < NUM_BYTES:
                raise ValueError(
                    f"byte tokenizer: {name} must be an integer >= {NUM_BYTES} (ids below are bytes), "
                    f"got {value!r}"
                )
        if self.sos_id == self.eos_id:
            raise ValueError(f"byte tokenizer: sos_id and eos_id must differ, both are {self.sos_id}")

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> ByteTokenizer:
        """Parses ``{"type": "bytes", "sosId", "eosId", "padId"}`` (ids optional; unknown keys rejected)."""
        unknown = sorted(set(config) - set(_KEYS))
        if unknown:
            raise ValueError(f"byte tokenizer: unknown keys {unknown}; expected a subset of {sorted(_KEYS)}")
        if config.get("type") != "bytes":
            raise ValueError(f"byte tokenizer: type must be 'bytes', got {config.get('type')!r}")
        return cls(**{_KEYS[key]: value for key, value in config.items() if key != "type"})

    @property
    def min_vocab_size(self) -> int:
        """The smallest model vocabulary that holds every id this tokenizer produces."""
        return max(NUM_BYTES, self.sos_id, self.eos_id, self.pad_id) + 1

    def encode(self, text: str, max_length: int, *, slice_left: bool = True) -> list[int]:
        """[SOS] + the text's bytes truncated to ``max_length - 1`` (keeping the left part by default).

        The result has 1..max_length ids; ``encode("", n)`` is ``[SOS]``.
        """
        if max_length < 1:
            raise ValueError(f"byte tokenizer: max_length must be >= 1, got {max_length}")
        data = text.encode("utf-8")
        budget = max_length - 1
        kept = data[:budget] if slice_left else data[max(0, len(data) - budget) :]
        return [self.sos_id, *kept]

    def encode_pieces(self, text: str, max_length: int) -> list[int]:
        """The text's bytes without SOS, truncated to ``max_length - 1`` keeping the left part."""
        return self.encode(text, max_length)[1:]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of the byte ids up to the first EOS; other specials and non-byte ids decode to nothing."""
        return bytes(self._bytes(ids)).decode("utf-8", errors="replace")

    def _bytes(self, ids: Iterable[int]) -> list[int]:
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            if 0 <= i < NUM_BYTES:
                out.append(int(i))
        return out

    def stream_decoder(self) -> StreamDecoder:
        """An incremental decoder that withholds an incomplete UTF-8 character until its last byte."""
        return StreamDecoder(self)


class StreamDecoder:
    """Decodes a stream of id chunks into text chunks whose concatenation equals ``decode`` of all ids."""

    def __init__(self, tokenizer: ByteTokenizer) -> None:
        self._tokenizer = tokenizer
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._ended = False

    def feed(self, ids: Iterable[int]) -> str:
        """Text completed by ``ids``; nothing after the first EOS."""
        if self._ended:
            return ""
        ids = list(ids)
        if self._tokenizer.eos_id in ids:
            ids = ids[: ids.index(self._tokenizer.eos_id)]
            self._ended = True
        return self._utf8.decode(bytes(self._tokenizer._bytes(ids)))

    def flush(self) -> str:
        """Whatever is still withheld (an incomplete character becomes U+FFFD)."""
        return self._utf8.decode(b"", final=True)
