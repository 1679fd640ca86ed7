"""The static table from a servable config to the function that builds it.

A config selects an entry by ``kind`` (and, where one kind covers several architectures, its
``architecture.family``, and where another framework than JAX builds it, its ``framework``); it never
names code to import. Builders import heavy frameworks (JAX, torch) inside their body, so
that importing this module, and running the worker core, stays framework-free.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from sax_worker.errors import WorkerError
from sax_worker.servables.base import Servable
from sax_worker.testing.echo import EchoServable

Builder = Callable[[Mapping[str, Any], str, int], Servable]
"""Builds a servable from (config, checkpoint path, seed); raises ValueError for a bad config."""


def _build_jax_lm(config: Mapping[str, Any], checkpoint: str, seed: int) -> Servable:
    """A JAX decoder LM, compiled for every bucket before it reports loaded (as Saxml warms up)."""
    # Imported here so that the worker core, and workers of other kinds, never import JAX.
    from sax_worker.models.lm_servable import build_lm_servable

    servable = build_lm_servable(config, checkpoint, seed)
    start = time.monotonic()
    servable.warm_up()
    servable.load_info["compile_seconds"] = time.monotonic() - start
    return servable


def _needs_torch(build: Builder) -> Builder:
    """``build`` with a missing torch reported as FAILED_PRECONDITION rather than a crash."""

    def guarded(config: Mapping[str, Any], checkpoint: str, seed: int) -> Servable:
        try:
            return build(config, checkpoint, seed)
        except ModuleNotFoundError as err:
            if err.name not in ("torch", "torchvision"):
                raise
            raise WorkerError(
                "FAILED_PRECONDITION",
                f"this class runs on PyTorch ({err.name}), which this worker's venv does not have (the "
                "Docker images install only python-runtime/requirements-serving.txt); serve it from a "
                "model server whose venv has requirements.txt",
            ) from err

    return guarded


def _build_torch_lm(config: Mapping[str, Any], checkpoint: str, seed: int) -> Servable:
    """A PyTorch decoder LM; it runs eagerly, so there is nothing to compile before it reports loaded."""
    # Imported here so that the worker core, and workers of other kinds, never import torch.
    from sax_worker.torch_models import build_torch_lm_servable

    return build_torch_lm_servable(config, checkpoint, seed)


def _build_vision(config: Mapping[str, Any], checkpoint: str, seed: int) -> Servable:
    """A vision model of any family and framework (``vision.builders`` picks the module)."""
    from sax_worker.vision.builders import build_vision_servable

    return build_vision_servable(config, checkpoint, seed)


def _build_vllm(config: Mapping[str, Any], checkpoint: str, seed: int) -> Servable:
    """An LM served by the vLLM library (CUDA only)."""
    from sax_worker.external.vllm_servable import build_vllm_servable

    return build_vllm_servable(config, checkpoint, seed)


BUILDERS: Final[Mapping[str, Builder]] = MappingProxyType(
    {
        "echo": EchoServable.from_config,
        "lm/llama": _build_jax_lm,
        "lm/llama@torch": _needs_torch(_build_torch_lm),
        "lm/lm_cloud": _build_jax_lm,
        "vision/resnet": _build_vision,
        "vision/resnet@torch": _needs_torch(_build_vision),
        "vision/faster_rcnn@torch": _needs_torch(_build_vision),
        "vision/tiny_diffusion@torch": _needs_torch(_build_vision),
        "vision/detectron2@torch": _needs_torch(_build_vision),
        "vllm": _build_vllm,
    }
)
"""Keys are ``kind``, ``kind/family`` or ``kind/family@framework``; a ``kind/family…`` entry wins over a
plain ``kind`` one."""

#: The framework of configs that do not name one.
DEFAULT_FRAMEWORK = "jax"


def builder_key(config: Mapping[str, Any]) -> str:
    """The table key a config selects: ``kind``, or ``kind/family`` for configs with an architecture,
    with ``@framework`` appended when the config names another framework than JAX.

    The model server's registry sends the family inside ``architecture`` and the framework beside it
    (``{"kind": "lm", "framework": "torch", "architecture": {"family": "llama", ...}, ...}``).
    """
    kind = config.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"servable config needs a non-empty string 'kind', got {kind!r}")
    architecture = config.get("architecture")
    if architecture is None:
        return kind
    family = architecture.get("family") if isinstance(architecture, Mapping) else None
    if not isinstance(family, str) or not family:
        raise ValueError(f"servable config 'architecture.family' must be a non-empty string, got {family!r}")
    framework = config.get("framework", DEFAULT_FRAMEWORK)
    if not isinstance(framework, str) or not framework:
        raise ValueError(f"servable config 'framework' must be a non-empty string, got {framework!r}")
    return f"{kind}/{family}" if framework == DEFAULT_FRAMEWORK else f"{kind}/{family}@{framework}"


def build_servable(
    config: Mapping[str, Any], checkpoint: str, seed: int, builders: Mapping[str, Builder] = BUILDERS
) -> Servable:
    """Builds the servable a config selects; an unknown kind is a ValueError (INVALID_ARGUMENT)."""
    key = builder_key(config)
    builder = builders.get(key) or builders.get(key.split("/", 1)[0])
    if builder is None:
        known = ", ".join(sorted(builders)) or "nothing"
        raise ValueError(f"unknown servable kind {key!r}; this worker builds: {known}")
    return builder(config, checkpoint, seed)
