"""The seam between checkpoint formats and the mapping: tensors by Meta's names, one shard at a time.

Both readers present Meta's tensor names (``layers.3.attention.wq.weight``) in Meta's orientation
([out, in]). A Meta checkpoint splits most tensors over its model-parallel shards; a Hugging Face one
holds every tensor whole (one part) and names and orders some rows differently, which its reader
undoes. ``parts`` yields one part at a time, typically a view of a memory-mapped file.

Pages a mapping touched stay resident, and counted, until released or unmapped; a conversion that kept
them would grow to the size of the model. So the merge releases each chunk's pages once it has copied
them (``memory.release_pages``), which every reader must allow: a part is a read-only view of a file
mapping (the kernel reads released pages back if they are touched again) or memory used for that part
alone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.sizes import SourceDims

if TYPE_CHECKING:
    import torch

#: ``--input-format`` values; ``auto`` picks by the files present.
INPUT_FORMATS = ("auto", "meta", "hf")


@dataclasses.dataclass
class Part:
    """One shard's piece of a tensor (1-D or 2-D, any float dtype; its pages may be released, see above)."""

    tensor: torch.Tensor
    # Row i of ``tensor`` belongs at row ``row_order[i]`` of the merged tensor; None: rows in order.
    row_order: np.ndarray | None = None


class Source(Protocol):
    """A LLaMA checkpoint read lazily under Meta's tensor names."""

    description: str  # e.g. "Meta checkpoint /ckpt/llama-2-13b (2 model-parallel shards)"
    dims: SourceDims

    @property
    def files(self) -> Sequence[Path]:
        """Every file the checkpoint consists of (their names, sizes and times identify the input)."""
        ...

    def shard_shapes(self, name: str) -> list[tuple[int, ...]]:
        """The shape of ``name`` in each shard, in shard order; ``ConvertError`` when it is missing."""
        ...

    def parts(self, name: str, count: int) -> Iterator[Part]:
        """The first ``count`` shards' parts of ``name``, opening each shard only when asked for it."""
        ...


def read_config(path: Path, what: str) -> dict[str, Any]:
    """A checkpoint's JSON config file as a dict; ``what`` says where it comes from, for messages."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConvertError(f"{path.parent} has no {path.name}; {what}") from None
    except OSError as err:
        raise ConvertError(f"cannot read {path}: {err}") from err
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConvertError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(config, dict):
        raise ConvertError(f"{path} must hold a JSON object, got {type(config).__name__}")
    return config


def required_int(config: Mapping[str, Any], key: str, path: Path) -> int:
    """``config[key]``, which must be a positive integer."""
    value = optional_int(config, key, path)
    if value is None:
        raise ConvertError(f"{path}: {key} must be a positive integer, got {config.get(key)!r}")
    return value


def optional_int(config: Mapping[str, Any], key: str, path: Path) -> int | None:
    """``config[key]`` if it is a positive integer; None when absent or not positive (Meta writes
    ``vocab_size: -1`` when the tokenizer decides)."""
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConvertError(f"{path}: {key} must be an integer, got {value!r}")
    return value if value > 0 else None
