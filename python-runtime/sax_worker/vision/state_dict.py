"""Reading a model's weights from one state-dict file, on a local path or ``gs://bucket/…``.

A vision model's checkpoint is a single file of named tensors in torchvision's naming: safetensors
(``.safetensors``), or a PyTorch state dict (``.pt`` / ``.pth``) read with ``torch.load(weights_only=True)``,
which refuses pickled code (spec §1.7: a Load never executes what a publisher points it at).
Both backends read the same file, so one checkpoint serves the JAX and the PyTorch ResNet.
"""

from __future__ import annotations

import io
import posixpath
from typing import Any, Final

import numpy as np

from sax_worker.models.checkpoint import CheckpointDir

#: File suffixes a state dict may have.
SUFFIXES: Final = (".safetensors", ".pt", ".pth")


def read_state_dict(path: str) -> tuple[dict[str, np.ndarray], int]:
    """The named tensors of the file at ``path`` as float32/int NumPy arrays, and the bytes read.

    ``ValueError`` (INVALID_ARGUMENT) for a missing file, another suffix or an unreadable file.
    """
    if not path.endswith(SUFFIXES):
        raise ValueError(
            f"checkpoint {path!r} is not a state-dict file: expected one of {', '.join(SUFFIXES)} "
            "(or 'None' for seeded random weights)"
        )
    folder, name = posixpath.split(path)
    data = CheckpointDir(folder or ".").read(name)
    if data is None:
        raise ValueError(f"checkpoint file {path} does not exist")
    try:
        tensors = _safetensors(data) if path.endswith(".safetensors") else _torch(data)
    except ValueError:
        raise
    except Exception as err:  # a corrupt file: the format libraries raise many types
        raise ValueError(f"checkpoint file {path} could not be read: {err}") from err
    return tensors, len(data)


def _safetensors(data: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    return dict(load(data))


def _torch(data: bytes) -> dict[str, np.ndarray]:
    import torch

    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("a .pt/.pth checkpoint must hold a dict of tensors (a state dict)")
    return {k: v.detach().float().numpy() if v.is_floating_point() else v.numpy() for k, v in state.items()}


def load_module_state(model: Any, checkpoint: str, family: str) -> int:
    """Loads the state-dict file at ``checkpoint`` into the torch module ``model``, names and shapes
    matching exactly (a ``ValueError`` naming the ``family`` otherwise); returns the bytes read."""
    import torch

    tensors, read_bytes = read_state_dict(checkpoint)
    try:
        model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    except RuntimeError as err:
        raise ValueError(f"checkpoint {checkpoint} does not fit this {family} model: {err}") from err
    return read_bytes
