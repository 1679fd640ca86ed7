"""The output step directory: arrays one at a time, a journal of the durable ones, the commit marker last.

``<pax-model-path>/checkpoint_00000000/`` (spec §5.2, local or ``gs://``) fills in this order:

1. each array under ``state/`` as a zarr array (when ``checkpoint.write_array`` returns, tensorstore has
   the files on disk, fsync'd by default, or the objects in the bucket), then its name in the journal
   ``convert_llama_ckpt.json``;
2. ``metadata/metadata``;
3. ``commit_success.txt`` (``checkpoint.commit``, which first fsyncs the whole tree when local).

A run killed anywhere before step 3 leaves a directory the loader refuses. The journal also records what
is being converted (the input files' names, sizes and modification times, and the model's dimensions):
a rerun with the same input skips the arrays it lists and writes the rest; a rerun with anything else
empties the directory and starts over, so arrays of two different inputs never mix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorstore as ts

from sax_worker.convert.errors import ConvertError
from sax_worker.models.checkpoint import (
    CheckpointDir,
    commit,
    is_committed,
    step_dir_name,
    write_array,
    write_metadata,
)

JOURNAL = "convert_llama_ckpt.json"
_STEP_NAME = re.compile(r"checkpoint_\d{8}$")


class StepWriter:
    """Writes the arrays of one conversion into ``<root>/checkpoint_00000000``."""

    def __init__(self, root: str, identity: Mapping[str, Any]) -> None:
        if _STEP_NAME.search(root.rstrip("/")):
            raise ConvertError(
                f"--pax-model-path {root} is already a step directory; pass its parent (the converter "
                f"writes <pax-model-path>/{step_dir_name(0)})"
            )
        self.url = f"{root.rstrip('/')}/{step_dir_name(0)}"
        self._dir = CheckpointDir(self.url)
        self._identity = json.loads(json.dumps(identity))  # as it reads back from the journal
        self._done: list[str] = []

    def is_committed(self) -> bool:
        return is_committed(self.url)

    def resume(self) -> set[str]:
        """The arrays an interrupted run of this same conversion made durable; clears any other content."""
        journal = self._read_journal()
        if journal is not None and journal.get("input") == self._identity:
            self._done = [name for name in journal.get("done", []) if isinstance(name, str)]
            return set(self._done)
        if self._dir.exists():
            ts.KvStore.open(self._dir.kvstore()).result().delete_range(ts.KvStore.KeyRange()).result()
        return set()

    def write(self, name: str, array: np.ndarray) -> None:
        """Writes one array, then records it as durable."""
        try:
            write_array(self._dir, name, array)
        except ValueError as err:  # tensorstore reports I/O and permission failures as ValueError
            raise ConvertError(f"writing {name} to {self.url} failed: {err}") from err
        self._done.append(name)
        self._put(JOURNAL, {"input": self._identity, "done": self._done})

    def commit(self, shapes: Mapping[str, Sequence[int]], dtype: str) -> None:
        """Writes ``metadata/metadata`` and then the commit marker: the directory becomes loadable."""
        try:
            write_metadata(self._dir, {name: (shape, dtype) for name, shape in shapes.items()})
        except ValueError as err:
            raise ConvertError(f"writing metadata/metadata to {self.url} failed: {err}") from err
        try:
            commit(self.url)
        except (ValueError, OSError) as err:
            raise ConvertError(f"committing {self.url} failed: {err}") from err

    def _read_journal(self) -> dict[str, Any] | None:
        data = self._dir.read(JOURNAL)
        try:
            journal = json.loads(data) if data is not None else None
        except json.JSONDecodeError:
            return None  # unreadable: start over
        return journal if isinstance(journal, dict) else None

    def _put(self, key: str, value: Any) -> None:
        try:
            self._dir.write(key, json.dumps(value).encode())
        except ValueError as err:
            raise ConvertError(f"writing {key} to {self.url} failed: {err}") from err
