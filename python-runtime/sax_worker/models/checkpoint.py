"""Reading and writing decoder weights as Paxml/Orbax-style step directories (spec data-plane §5.1, §5.2).

Layout written by ``save_params`` and read by ``load_params``, on a local folder or ``gs://bucket/…``::

    <root>/checkpoint_00000000/
      commit_success.txt                                 # written last: the directory is complete
      metadata/metadata                                  # JSON {"version": 1.1, "train_state_metadata": …}
      state/mdl_vars.params.lm.embedding_lookup.emb_var/ # one zarr v2 array per variable (tensorstore)
      state/mdl_vars.params.lm.final_ln.scale/
      …

Only step directories carrying ``commit_success.txt`` load: a half-written directory is never served.
Loading reads only the arrays the config expects (optimiser state and other extras are ignored), from
``state/`` or, for legacy version-0 checkpoints, from the step directory itself; shape and dtype come from
each array's ``.zarray``, each array is cast to the config's dtype on the host as it is read, and the
whole tree moves to the device once. ``metadata/metadata`` is informative and not read back. OCDBT
checkpoints and int8 (``*_quantized_scale``) variables are not supported.

``gs://`` goes through tensorstore's GCS driver (credentials from the environment; the
``TENSORSTORE_GCS_HTTP_URL`` variable points it at an emulator).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorstore as ts

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params, assemble, checkpoint_shapes, to_checkpoint

_STEP_DIR = re.compile(r"^(checkpoint_(\d{8})|(\d+))$")
VARIABLE_PREFIX = "mdl_vars.params."
_BOX_BYTES = 4 << 20  # the slice of an array written at once
COMMIT_MARKER = "commit_success.txt"

_log = logging.getLogger("sax_worker.checkpoint")


@dataclasses.dataclass(frozen=True)
class LoadStats:
    """What a load read: arrays, bytes as stored, and seconds spent."""

    arrays: int
    bytes: int
    seconds: float


def step_dir_name(step: int) -> str:
    """``checkpoint_00000042`` for step 42."""
    return f"checkpoint_{step:08d}"


def parse_step(step_dir: str | os.PathLike[str]) -> int:
    """The step of a step directory path (``…/checkpoint_00100000`` or ``…/100000``); ValueError otherwise."""
    name = os.fspath(step_dir).rstrip("/").rsplit("/", 1)[-1]
    match = _STEP_DIR.match(name)
    if not match:
        raise ValueError(
            f"invalid checkpoint path {os.fspath(step_dir)}: expected a step directory, "
            "e.g. /some/path/checkpoint_00100000"
        )
    return int(match.group(2) or match.group(3))


class CheckpointDir:
    """A directory on the local file system or in a GCS bucket, read and written through tensorstore."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        if self.url.startswith("gs://"):
            bucket, _, path = self.url[len("gs://") :].partition("/")
            if not bucket:
                raise ValueError(f"invalid checkpoint path {url}: no bucket")
            self._kvstore: dict[str, Any] = {
                "driver": "gcs",
                "bucket": bucket,
                "path": f"{path}/" if path else "",
            }
        else:
            self._kvstore = {"driver": "file", "path": f"{os.path.abspath(self.url)}/"}

    @property
    def is_gcs(self) -> bool:
        return self.url.startswith("gs://")

    def child(self, name: str) -> CheckpointDir:
        return CheckpointDir(f"{self.url}/{name}")

    def kvstore(self, sub: str = "") -> dict[str, Any]:
        return {**self._kvstore, "path": self._kvstore["path"] + (f"{sub}/" if sub else "")}

    def read(self, key: str) -> bytes | None:
        """The bytes of file ``key`` in this directory, or None when it does not exist."""
        result = ts.KvStore.open(self._kvstore).result().read(key).result()
        return bytes(result.value) if result.state == "value" else None

    def write(self, key: str, data: bytes) -> None:
        ts.KvStore.open(self._kvstore).result().write(key, data).result()

    def exists(self) -> bool:
        """Local: the directory exists. GCS has no directories: some object lies under the prefix."""
        if not self.is_gcs:
            return os.path.isdir(self.url)
        return bool(ts.KvStore.open(self._kvstore).result().list().result())


def save_params(cfg: DecoderConfig, params: Params, step_dir: str | os.PathLike[str]) -> None:
    """Writes a serving tree as a committed step directory (local or ``gs://``).

    A directory that is already committed is refused (a checkpoint is immutable once marked); a partial
    one left by a crash is written over. The commit marker goes last, after every array is durable.
    """
    target = CheckpointDir(os.fspath(step_dir))
    parse_step(target.url)
    if target.read(COMMIT_MARKER) is not None:
        raise ValueError(f"checkpoint {target.url} is already committed; refusing to overwrite it")
    flat = to_checkpoint(cfg, params)
    for name, array in flat.items():
        write_array(target, name, array)
    write_metadata(target, {name: (array.shape, array.dtype.name) for name, array in flat.items()})
    commit(target.url)


def write_array(step_dir: CheckpointDir | str, name: str, array: np.ndarray) -> None:
    """Writes one variable's zarr array under ``<step_dir>/state/``, replacing what is there.

    Box by box of whole chunks, the array referenced rather than copied: a plain ``write`` would first
    copy the whole array into tensorstore's chunk cache and encode every chunk at once, while this keeps
    the extra memory near one box's chunk buffers (``convert_llama_ckpt`` relies on that).
    """
    base = step_dir if isinstance(step_dir, CheckpointDir) else CheckpointDir(step_dir)
    spec = {"driver": "zarr", "kvstore": base.kvstore(f"state/{VARIABLE_PREFIX}{name}")}
    store = ts.open(
        spec, create=True, delete_existing=True, dtype=ts.dtype(array.dtype.name), shape=array.shape
    ).result()
    for box in _boxes(array.shape, tuple(store.chunk_layout.write_chunk.shape), array.itemsize):
        store[box].write(array[box], can_reference_source_data_indefinitely=True).result()


def write_metadata(step_dir: CheckpointDir, variables: Mapping[str, tuple[Sequence[int], str]]) -> None:
    """Writes ``metadata/metadata`` (spec §5.2) for ``{name: (shape, dtype name)}``."""
    metadata = {
        "version": 1.1,
        "train_state_metadata": {
            f"{VARIABLE_PREFIX}{name}": {"shape": list(shape), "dtype": dtype}
            for name, (shape, dtype) in variables.items()
        },
    }
    step_dir.child("metadata").write("metadata", json.dumps(metadata, indent=1).encode())


def _boxes(shape: tuple[int, ...], chunk: tuple[int, ...], itemsize: int) -> Iterator[tuple[slice, ...]]:
    """Row-major boxes of whole chunks over the first two axes, about ``_BOX_BYTES`` each."""
    if len(shape) < 2:
        yield (slice(None),)
        return
    inner = itemsize * math.prod(shape[2:])  # bytes per (row, column)
    band = chunk[0] * shape[1] * inner  # bytes of one band of chunk rows
    if band <= _BOX_BYTES:
        rows, cols = chunk[0] * (_BOX_BYTES // band), shape[1]
    else:
        rows, cols = chunk[0], chunk[1] * max(1, _BOX_BYTES // (chunk[0] * chunk[1] * inner))
    for row in range(0, shape[0], rows):
        for col in range(0, shape[1], cols):
            yield slice(row, min(row + rows, shape[0])), slice(col, min(col + cols, shape[1]))


def commit(step_dir: str) -> None:
    """Marks a completely written step directory as loadable (local writes are fsync'd first)."""
    target = CheckpointDir(step_dir)
    if not target.is_gcs:
        _fsync_tree(Path(target.url))
    target.write(COMMIT_MARKER, f"committed {uuid.uuid4()}\n".encode())
    if not target.is_gcs:
        _fsync_path(Path(target.url) / COMMIT_MARKER)
        _fsync_path(Path(target.url))


def is_committed(step_dir: str) -> bool:
    """Whether ``step_dir`` carries the commit marker."""
    return CheckpointDir(step_dir).read(COMMIT_MARKER) is not None


def load_params(
    cfg: DecoderConfig,
    step_dir: str | os.PathLike[str],
    progress: Callable[[int, int, int], None] | None = None,
) -> tuple[Params, LoadStats]:
    """Reads the serving tree ``cfg`` expects from a committed step directory (host arrays).

    ``progress(arrays done, arrays total, bytes read)`` is called after each array (@default: a log line
    about every 10%). ``ValueError`` says what is wrong with the path or its contents.
    """
    url = os.fspath(step_dir)
    path = CheckpointDir(url)
    if not path.exists():
        raise ValueError(f"Invalid checkpoint path {url}. Must be a directory.")
    parse_step(url)
    if path.read(COMMIT_MARKER) is None:
        raise ValueError(
            f"checkpoint {url} has no {COMMIT_MARKER}: it is incomplete (still being written, or its "
            "writer crashed); only committed step directories load"
        )
    base = path.child("state") if path.child("state").read(f"{VARIABLE_PREFIX}{_any(cfg)}/.zarray") else path
    shapes = checkpoint_shapes(cfg)
    missing = [name for name in shapes if base.read(f"{VARIABLE_PREFIX}{name}/.zarray") is None]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ValueError(
            f"checkpoint {url} does not match the {cfg.family} config: no array for "
            f"{', '.join(missing[:3])}{more} (looked for {VARIABLE_PREFIX}<name>/.zarray under {base.url})"
        )
    report = progress or _log_progress(len(shapes))
    done, total_bytes, start = 0, 0, time.monotonic()

    def read(name: str, shape: tuple[int, ...]) -> np.ndarray:
        nonlocal done, total_bytes
        array = read_array(base, name)
        if tuple(array.shape) != shape:
            raise ValueError(
                f"checkpoint {url}: variable {name} has shape {tuple(array.shape)}, config needs {shape}"
            )
        if not (np.issubdtype(array.dtype, np.floating) or array.dtype.name == "bfloat16"):
            raise ValueError(f"checkpoint {url}: variable {name} has unsupported dtype {array.dtype.name}")
        done += 1
        total_bytes += array.nbytes
        report(done, len(shapes), total_bytes)
        return array

    params = assemble(cfg, read)
    return params, LoadStats(arrays=done, bytes=total_bytes, seconds=time.monotonic() - start)


def _any(cfg: DecoderConfig) -> str:
    """The name of one array every checkpoint of ``cfg`` has (to tell ``state/`` from legacy layouts)."""
    return next(iter(checkpoint_shapes(cfg)))


def read_array(base: CheckpointDir, name: str) -> np.ndarray:
    spec = {"driver": "zarr", "kvstore": base.kvstore(f"{VARIABLE_PREFIX}{name}")}
    try:
        return np.asarray(ts.open(spec, open=True).result().read().result())
    except ValueError as err:  # tensorstore reports unreadable metadata or chunks as ValueError
        raise ValueError(f"checkpoint variable {name} under {base.url} is unreadable: {err}") from err


def _log_progress(total: int) -> Callable[[int, int, int], None]:
    step = max(1, total // 10)

    def report(done: int, count: int, nbytes: int) -> None:
        if done % step == 0 or done == count:
            _log.info("checkpoint: %d/%d arrays, %.1f MiB read", done, count, nbytes / 2**20)

    return report


def _fsync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            _fsync_path(Path(directory) / name)
        _fsync_path(Path(directory))


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
