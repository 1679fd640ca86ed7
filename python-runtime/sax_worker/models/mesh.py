"""The serving mesh and where each weight lives on it (spec data-plane §1.6).

A servable config lists mesh shapes ``[replica, data, mdl]`` to try in order; the first whose size equals
the number of visible devices wins (a CPU host shows one device unless
``--xla_force_host_platform_device_count`` fakes more). Weights are split over the ``mdl`` axis along
the dimension ``decoder_params`` marks for each variable (heads, hidden width or vocabulary) when it
divides evenly, and replicated otherwise; jit propagates the layout to activations and the KV cache.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params, Variable, device_tree, variables

AXES = ("replica", "data", "mdl")


def serving_mesh(shapes: Sequence[Sequence[int]], devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A mesh of the first shape in ``shapes`` that uses exactly the visible devices.

    ``ValueError`` ("Unsupported mesh shape …", INVALID_ARGUMENT at load) when none fits.
    """
    devices = list(devices if devices is not None else jax.devices())
    for shape in shapes:
        if len(shape) != len(AXES) or any(not isinstance(n, int) or n < 1 for n in shape):
            raise ValueError(f"Unsupported mesh shape {list(shape)}: expected 3 positive sizes {list(AXES)}")
        if math.prod(shape) == len(devices):
            return Mesh(np.asarray(devices, dtype=object).reshape(tuple(shape)), AXES)
    listed = [list(s) for s in shapes]
    raise ValueError(
        f"Unsupported mesh shape: none of {listed} uses the {len(devices)} visible "
        f"{devices[0].platform if devices else ''} device(s)"
    )


def partition_spec(cfg: DecoderConfig, var: Variable, mesh: Mesh) -> PartitionSpec:
    """How ``var`` is split over ``mesh`` in the device tree: the whole array, or one layer's for per-layer
    variables, axes in their device order."""
    spec: list[str | None] = [None] * len(var.shape)
    model_size = mesh.shape["mdl"]
    if var.model_axis is not None and model_size > 1 and var.shape[var.model_axis] % model_size == 0:
        spec[var.model_axis] = "mdl"
    return PartitionSpec(*(spec[axis] for axis in var.device_order))


def place_params(cfg: DecoderConfig, params: Params, mesh: Mesh) -> Params:
    """The device tree (``decoder_params.device_tree``) of a host serving tree, on ``mesh``'s devices,
    each weight split as ``partition_spec`` says."""
    shardings = {var.path: NamedSharding(mesh, partition_spec(cfg, var, mesh)) for var in variables(cfg)}
    return device_tree(cfg, params, lambda var, array: jax.device_put(array, shardings[var.path]))
