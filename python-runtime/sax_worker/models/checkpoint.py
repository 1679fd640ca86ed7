"""Reading and writing parameter trees as Paxml/Orbax-style step directories (spec data-plane §5.1, §5.2).

Layout written by ``save_params`` and read by ``load_params``::

    <root>/checkpoint_00000000/
      commit_success.txt                                 # written last: the directory is complete
      metadata/metadata                                  # JSON {"version": 1.1, "train_state_metadata": …}
      state/mdl_vars.params.lm.embedding_lookup.emb_var/ # one zarr v2 array per variable (tensorstore)
      state/mdl_vars.params.lm.final_ln.scale/
      …

Loading reads only the arrays of the variables the config expects (optimiser state and other extras are
ignored), from ``state/`` or, for legacy version-0 checkpoints, from the step directory itself; shape and
dtype come from each array's ``.zarray``, and every array is cast to the config's dtype on the host before
one transfer to the device. ``commit_success.txt`` is not required: Orbax writes it only on file systems
without atomic rename. ``metadata/metadata`` is informative and not read back. OCDBT checkpoints and int8
(``*_quantized_scale``) variables are not supported yet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np
import tensorstore as ts

from sax_worker.models.llama_config import LlamaConfig
from sax_worker.models.llama_params import (
    Params,
    check_params,
    flatten_params,
    param_shapes,
    unflatten_params,
)

_STEP_DIR = re.compile(r"^(checkpoint_(\d{8})|(\d+))$")
_VARIABLE_PREFIX = "mdl_vars.params."
COMMIT_MARKER = "commit_success.txt"


def step_dir_name(step: int) -> str:
    """``checkpoint_00000042`` for step 42."""
    return f"checkpoint_{step:08d}"


def parse_step(step_dir: str | os.PathLike[str]) -> int:
    """The step of a step directory path (``…/checkpoint_00100000`` or ``…/100000``); ValueError otherwise."""
    match = _STEP_DIR.match(Path(step_dir).name)
    if not match:
        raise ValueError(
            f"invalid checkpoint path {os.fspath(step_dir)}: expected a step directory, "
            "e.g. /some/path/checkpoint_00100000"
        )
    return int(match.group(2) or match.group(3))


def save_params(params: Params, step_dir: str | os.PathLike[str]) -> None:
    """Writes ``params`` as a step directory, replacing one that exists (like the reference's Save).

    The arrays are written into a temporary sibling that is renamed into place, then the commit marker is
    added, so a reader never sees a half-written step directory with a marker.
    """
    target = Path(step_dir)
    parse_step(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    flat = {name: np.asarray(value) for name, value in flatten_params(params).items()}
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, array in flat.items():
            _write_array(staging / "state" / f"{_VARIABLE_PREFIX}{name}", array)
        metadata = {
            "version": 1.1,
            "train_state_metadata": {
                f"{_VARIABLE_PREFIX}{name}": {"shape": list(array.shape), "dtype": array.dtype.name}
                for name, array in flat.items()
            },
        }
        (staging / "metadata").mkdir()
        (staging / "metadata" / "metadata").write_text(json.dumps(metadata, indent=1))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (target / COMMIT_MARKER).write_text("checkpoint committed\n")


def load_params(cfg: LlamaConfig, step_dir: str | os.PathLike[str]) -> Params:
    """Reads the variables ``cfg`` expects from a step directory; ``ValueError`` says what is wrong."""
    path = Path(step_dir)
    if not path.is_dir():
        raise ValueError(f"invalid checkpoint path {os.fspath(step_dir)}: must be a directory")
    parse_step(path)
    base = path / "state" if (path / "state").is_dir() else path
    shapes = param_shapes(cfg)
    missing = [name for name in shapes if not (base / f"{_VARIABLE_PREFIX}{name}" / ".zarray").is_file()]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ValueError(
            f"checkpoint {path} does not match the llama config: no array for {', '.join(missing[:3])}{more} "
            f"(looked for {_VARIABLE_PREFIX}<name>/.zarray under {base})"
        )
    flat: dict[str, Any] = {}
    for name in shapes:
        array = _read_array(base / f"{_VARIABLE_PREFIX}{name}", name)
        if not (np.issubdtype(array.dtype, np.floating) or array.dtype.name == "bfloat16"):
            raise ValueError(f"checkpoint {path}: variable {name} has unsupported dtype {array.dtype.name}")
        flat[name] = array
    check_params(cfg, flat, f"checkpoint {path}")
    dtype = np.dtype(cfg.activation_dtype)
    host = {name: np.asarray(array, dtype=dtype) for name, array in flat.items()}
    return jax.device_put(unflatten_params(host))


def _write_array(path: Path, array: np.ndarray) -> None:
    store = ts.open(
        {"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}},
        create=True,
        dtype=ts.dtype(array.dtype.name),
        shape=array.shape,
    ).result()
    store.write(array).result()


def _read_array(path: Path, name: str) -> np.ndarray:
    try:
        store = ts.open(
            {"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}}, open=True
        ).result()
        return np.asarray(store.read().result())
    except ValueError as err:  # tensorstore reports unreadable metadata or chunks as ValueError
        raise ValueError(f"checkpoint variable {name} at {path} is unreadable: {err}") from err
