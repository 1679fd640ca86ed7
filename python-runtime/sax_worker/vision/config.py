"""Reading a vision servable config, as the model server's registry sends it (camelCase JSON).

``{"kind": "vision", "framework": "jax" | "torch", "architecture": {"family": ..., ...},
"methods": ["vm.classify", ...], "preprocessing": {...} | null, "topK": int, "scores": "log_probs" |
"logits", "serving": {"batchSize", "batchWaitSecs", "maxLiveBatches"}, "meshShapes": [[r, d, m], ...],
"platforms": [...], "randomWeightsWhenNoCheckpoint": bool}``

The family-specific ``architecture`` is left as a mapping for the family's builder to read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

#: The checkpoint value that means "no checkpoint" (spec §5.1).
NO_CHECKPOINT: Final = "None"

#: Every method of the vision service (spec §7), by worker method name.
VISION_METHODS: Final = frozenset(
    {
        "vm.classify",
        "vm.generate",
        "vm.text_and_image_to_image",
        "vm.embed",
        "vm.detect",
        "vm.image_to_text",
        "vm.image_to_image",
        "vm.video_to_text",
        "vm.video_to_token",
        "vm.token_to_video",
    }
)

_CONFIG_KEYS: Final = frozenset(
    {
        "kind",
        "framework",
        "architecture",
        "methods",
        "preprocessing",
        "topK",
        "scores",
        "serving",
        "meshShapes",
        "platforms",
        "randomWeightsWhenNoCheckpoint",
    }
)


def check_keys(raw: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    """A ``ValueError`` naming ``what`` when ``raw`` holds keys outside ``known`` (a misspelt knob
    must fail the load, not be ignored)."""
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{what}: unknown keys {unknown}; expected {sorted(known)}")


Fields = TypeVar("Fields")


def camel_fields(cls: type[Fields], raw: Mapping[str, Any], what: str, *, also: frozenset[str]) -> Fields:
    """The dataclass ``cls`` read from ``raw``'s camelCase keys (``maxTextBytes`` -> ``max_text_bytes``).

    A field with a default takes ``raw``'s value converted to the default's type (absent: the default);
    one without is passed as given, for the caller to check. Keys that are neither a field's nor in
    ``also`` (keys the caller reads elsewhere) fail as ``check_keys`` says, and so does a value the type
    refuses.
    """
    fields = {_camel(field.name): field for field in dataclasses.fields(cls)}
    check_keys(raw, frozenset(fields) | also, what)
    values: dict[str, Any] = {}
    for key, field in fields.items():
        if key not in raw:
            continue
        value = raw[key]
        if field.default is not dataclasses.MISSING:
            try:
                value = type(field.default)(value)
            except (TypeError, ValueError) as err:
                raise ValueError(
                    f"{what}: {key!r} must be a {type(field.default).__name__}, got {value!r}"
                ) from err
        values[field.name] = value
    return cls(**values)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """ImageNet eval pre-processing: centre crop of ``crop_fraction`` of the short side, bicubic resize
    to ``image_size`` squared, then ``(pixel - mean) / std`` per RGB channel (pixels in 0..255)."""

    image_size: int = 224
    crop_fraction: float = 0.875
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Preprocessing:
        check_keys(raw, frozenset({"imageSize", "cropFraction", "mean", "std"}), "vision preprocessing")
        out = cls(
            image_size=int(raw.get("imageSize", cls.image_size)),
            crop_fraction=float(raw.get("cropFraction", cls.crop_fraction)),
            mean=_triple(raw.get("mean", cls.mean), "mean"),
            std=_triple(raw.get("std", cls.std), "std"),
        )
        if out.image_size < 1 or not 0 < out.crop_fraction <= 1 or min(out.std) <= 0:
            raise ValueError(f"vision preprocessing out of range: {raw}")
        return out


@dataclasses.dataclass(frozen=True)
class VisionServing:
    """Dynamic batching of the vision methods (spec §4.1, §4.2)."""

    batch_size: int = 1
    batch_wait_secs: float | None = None
    max_live_batches: int = 4


@dataclasses.dataclass(frozen=True)
class VisionConfig:
    """A vision servable config, parsed."""

    framework: str
    family: str
    architecture: Mapping[str, Any]
    methods: frozenset[str]
    preprocessing: Preprocessing | None
    top_k: int
    scores: str  # "log_probs" (log-softmax) or "logits" (raw)
    serving: VisionServing
    mesh_shapes: Sequence[Sequence[int]]
    random_weights: bool  # checkpoint "None" with randomWeightsWhenNoCheckpoint


def parse_vision_config(config: Mapping[str, Any], checkpoint: str) -> VisionConfig:
    """Parses a vision servable config; invalid ones raise ``ValueError`` (INVALID_ARGUMENT)."""
    check_keys(config, _CONFIG_KEYS, "vision servable config")
    if config.get("kind") != "vision":
        raise ValueError(f"vision servable config: kind must be 'vision', got {config.get('kind')!r}")
    architecture = config.get("architecture")
    if not isinstance(architecture, Mapping) or not isinstance(architecture.get("family"), str):
        raise ValueError("vision servable config: 'architecture' must be an object with a string 'family'")
    methods = frozenset(config.get("methods") or ())
    if not methods or not methods <= VISION_METHODS:
        raise ValueError(
            f"vision servable config: 'methods' must be a non-empty subset of {sorted(VISION_METHODS)}, "
            f"got {sorted(methods)}"
        )
    scores = config.get("scores", "log_probs")
    if scores not in ("log_probs", "logits"):
        raise ValueError(f"vision servable config: 'scores' must be 'log_probs' or 'logits', got {scores!r}")
    top_k = int(config.get("topK", 5))
    if top_k < 1:
        raise ValueError(f"vision servable config: 'topK' must be positive, got {top_k}")
    raw_pre = config.get("preprocessing")
    random_when_none = bool(config.get("randomWeightsWhenNoCheckpoint", True))
    return VisionConfig(
        framework=str(config.get("framework", "jax")),
        family=architecture["family"],
        architecture=architecture,
        methods=methods,
        preprocessing=None if raw_pre is None else Preprocessing.from_dict(raw_pre),
        top_k=top_k,
        scores=scores,
        serving=_serving(config.get("serving") or {}),
        mesh_shapes=config.get("meshShapes") or [[1, 1, 1]],
        random_weights=checkpoint == NO_CHECKPOINT and random_when_none,
    )


def _serving(raw: Mapping[str, Any]) -> VisionServing:
    sizes = raw.get("batchSize", 1)
    batch_size = max(sizes) if isinstance(sizes, list) else int(sizes)
    wait = raw.get("batchWaitSecs")
    serving = VisionServing(
        batch_size=batch_size,
        batch_wait_secs=None if wait is None else float(wait),
        max_live_batches=int(raw.get("maxLiveBatches", 4)),
    )
    if serving.batch_size < 1 or serving.max_live_batches < 1:
        raise ValueError(f"vision serving knobs must be positive: {dict(raw)}")
    return serving


def _triple(value: Any, name: str) -> tuple[float, float, float]:
    if not isinstance(value, Sequence) or len(value) != 3:
        raise ValueError(f"vision preprocessing {name!r} must hold 3 numbers (R, G, B), got {value!r}")
    return (float(value[0]), float(value[1]), float(value[2]))
