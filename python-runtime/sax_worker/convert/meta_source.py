"""Meta's LLaMA checkpoints: ``consolidated.NN.pth`` model-parallel shards next to ``params.json``.

Each shard is a torch zip archive, opened once with ``torch.load(mmap=True, weights_only=True)``: only
the pickled index is read, tensors are views of the mapped file, and nothing in the file can run code.
The mappings stay open for the whole conversion, and the merge hands the pages of every copied chunk
back to the kernel (``memory.release_pages``). Reopening a shard per tensor to let its mapping go would
cost minutes on a large model: the safe unpickler takes about half a millisecond per tensor, and a 70B
shard holds some 700.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.sizes import SourceDims
from sax_worker.convert.source import Part, optional_int, read_config, required_int

# consolidated.07.pth -> 7: like Saxml, the number between the first and the second dot.
_SHARD_NAME = re.compile(r"^[^.]+\.(\d+)\.pth$")


class MetaSource:
    """The shards of one Meta checkpoint directory, in shard order."""

    def __init__(self, path: Path) -> None:
        self._shards = _shard_files(path)
        self._params = path / "params.json"
        self.dims = _dims(self._params)
        self._states = [_load(file) for file in self._shards]
        count = len(self._shards)
        self.description = f"Meta checkpoint {path} ({count} model-parallel shard{'s' if count > 1 else ''})"

    @property
    def files(self) -> Sequence[Path]:
        return [*self._shards, self._params]

    def shard_shapes(self, name: str) -> list[tuple[int, ...]]:
        for file, state in zip(self._shards, self._states, strict=True):
            if not isinstance(state.get(name), torch.Tensor):
                raise ConvertError(
                    f"{file} has no tensor {name}; is this a LLaMA checkpoint with all its shards, "
                    "and does --model-size match it?"
                )
        return [tuple(state[name].shape) for state in self._states]

    def parts(self, name: str, count: int) -> Iterator[Part]:
        for state in self._states[:count]:
            yield Part(state[name])


def _shard_files(path: Path) -> list[Path]:
    numbered: dict[int, Path] = {}
    for file in sorted(path.glob("*.pth")):
        match = _SHARD_NAME.match(file.name)
        if match is None:
            raise ConvertError(f"{file}: expected Meta's shard naming, consolidated.NN.pth")
        index = int(match.group(1))
        if index in numbered:
            raise ConvertError(f"{numbered[index]} and {file} both claim model-parallel shard {index}")
        numbered[index] = file
    if sorted(numbered) != list(range(len(numbered))):
        raise ConvertError(
            f"the shards in {path} are numbered {sorted(numbered)}; a Meta checkpoint has shards "
            f"0..{len(numbered) - 1} (is one missing?)"
        )
    return [numbered[i] for i in range(len(numbered))]


def _dims(params_file: Path) -> SourceDims:
    params = read_config(
        params_file,
        "Meta checkpoints ship it next to the consolidated.NN.pth shards (dim, n_layers, n_heads, …)",
    )
    dim, heads = required_int(params, "dim", params_file), required_int(params, "n_heads", params_file)
    if dim % heads:
        raise ConvertError(f"{params_file}: dim {dim} is not a multiple of n_heads {heads}")
    return SourceDims(
        file=str(params_file),
        num_layers=required_int(params, "n_layers", params_file),
        num_heads=heads,
        num_kv_heads=optional_int(params, "n_kv_heads", params_file) or heads,
        dims_per_head=dim // heads,
        vocab_size=optional_int(params, "vocab_size", params_file),
    )


def _load(file: Path) -> dict[str, Any]:
    try:
        state = torch.load(file, map_location="cpu", mmap=True, weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise ConvertError(
            f"cannot read {file} as a torch checkpoint: {err} (memory-mapped reading needs the zip "
            "format of torch.save; re-save an old-format file with a current torch)"
        ) from err
    if not isinstance(state, dict):
        raise ConvertError(f"{file} holds a {type(state).__name__}, not a dict of tensors")
    return state
