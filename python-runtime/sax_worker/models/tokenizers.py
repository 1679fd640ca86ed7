"""The tokenizer seam of LM servables: one interface, built from the registry's tokenizer config.

The model server sends configs shaped by src/registry/tokenizer-config.ts; ``type`` picks the
implementation from a closed set, so a config never names code to import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sax_worker.models.byte_tokenizer import ByteTokenizer
from sax_worker.models.sentencepiece_tokenizer import SentencePieceTokenizer

#: The ``type`` values a worker can build.
SUPPORTED_TYPES = ("bytes", "sentencepiece")


class StreamDecoder(Protocol):
    """Per-stream detokenisation state (spec data-plane §3.6)."""

    def feed(self, ids: Iterable[int]) -> str:
        """Text completed by ``ids``; nothing after the first EOS."""
        ...

    def flush(self) -> str:
        """Whatever text is still withheld."""
        ...


class Tokenizer(Protocol):
    """What an LM servable needs from a tokenizer (spec data-plane §3.2)."""

    @property
    def sos_id(self) -> int: ...
    @property
    def eos_id(self) -> int: ...
    @property
    def pad_id(self) -> int: ...
    @property
    def min_vocab_size(self) -> int: ...

    def encode(self, text: str, max_length: int, *, slice_left: bool = True) -> list[int]:
        """[SOS] + the text's ids truncated to ``max_length - 1``."""
        ...

    def encode_pieces(self, text: str, max_length: int) -> list[int]:
        """The text's ids without SOS, truncated to ``max_length - 1`` keeping the left part."""
        ...

    def decode(self, ids: Iterable[int]) -> str:
        """Text of the ids up to the first EOS."""
        ...

    def stream_decoder(self) -> StreamDecoder:
        """A fresh incremental decoder whose chunks concatenate to ``decode`` of all ids."""
        ...


def tokenizer_from_dict(config: Mapping[str, Any]) -> Tokenizer:
    """Builds the tokenizer a config describes; ValueError for an unknown type or an invalid config."""
    kind = config.get("type")
    if kind == "bytes":
        return ByteTokenizer.from_dict(config)
    if kind == "sentencepiece":
        return SentencePieceTokenizer.from_dict(config)
    if kind == "llama3_tiktoken":
        raise ValueError(
            "tokenizer: llama3_tiktoken needs the LLaMA-3 tiktoken file and is not supported by this worker "
            f"yet; supported types: {', '.join(SUPPORTED_TYPES)}"
        )
    raise ValueError(f"tokenizer: unknown type {kind!r}; expected one of {', '.join(SUPPORTED_TYPES)}")
