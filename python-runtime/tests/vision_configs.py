"""Vision servable configs for tests, as the model server's registry sends them (camelCase JSON)."""

from __future__ import annotations

from typing import Any


def vision_config(architecture: dict[str, Any], methods: list[str], **fields: Any) -> dict[str, Any]:
    """A complete torch vision config for ``architecture``; ``fields`` replace top-level keys."""
    return {
        "kind": "vision",
        "framework": "torch",
        "architecture": architecture,
        "methods": methods,
        "preprocessing": None,
        "topK": 5,
        "scores": "log_probs",
        "serving": {"batchSize": 1, "batchWaitSecs": None, "maxLiveBatches": 4},
        "meshShapes": [[1, 1, 1]],
        "platforms": ["cpu", "cuda"],
        "randomWeightsWhenNoCheckpoint": True,
        **fields,
    }
