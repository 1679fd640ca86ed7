"""``--verify``: every written array read back and compared, bit for bit, with its source converted again.

One variable at a time, as the conversion goes: the source merged afresh (``mapping.build``) and the
stored array read through tensorstore, as the servable's loader reads it. This catches arrays that are
missing, truncated or corrupted in storage, and output that came from another input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.mapping import Target, build
from sax_worker.convert.progress import Progress
from sax_worker.convert.source import Source
from sax_worker.models.checkpoint import CheckpointDir, read_array


def verify(targets: Sequence[Target], source: Source, step_url: str, progress: Progress) -> None:
    """Raises ``ConvertError`` at the first array of ``step_url`` that differs from the source."""
    state = CheckpointDir(step_url).child("state")
    for target in targets:
        expected = build(target, source)
        try:
            stored = read_array(state, target.name)
        except ValueError as err:
            raise ConvertError(f"verify: {err}") from err
        if stored.shape != expected.shape or stored.dtype != expected.dtype:
            raise ConvertError(
                f"verify: {target.name} in {step_url} is {stored.dtype.name} {list(stored.shape)}, "
                f"the source converts to {expected.dtype.name} {list(expected.shape)}"
            )
        if not np.array_equal(stored, expected):
            differ = stored != expected
            largest = np.abs(stored.astype(np.float32) - expected.astype(np.float32)).max()
            raise ConvertError(
                f"verify: {target.name} in {step_url} differs from the source in {int(differ.sum())} of "
                f"{differ.size} values (largest difference {largest:g}); convert again into an empty "
                "--pax-model-path"
            )
        progress.advance(target.nbytes)
