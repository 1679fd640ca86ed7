"""Reads and (re)writes test/fixtures/worker-protocol/golden.json, the contract of the worker protocol.

Each case has a ``name``, the ``message`` as JSON (bytes written as ``{"$bin": "<hex>"}``), ``exact``
(whether every encoder must produce exactly ``hex``; false where msgpack leaves a choice, e.g. a
whole-number float is a float64 in Python but an int in JavaScript), and ``hex``, the frame as Python
encodes it. Both pytest (tests/test_protocol.py) and vitest (test/unit/worker/protocol.test.ts) check it.

To add a case, add it without ``hex``, then in python-runtime run
``PYTHONPATH=. .venv/bin/python tests/worker_golden.py && npx prettier --write ../test/fixtures``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sax_worker.protocol import as_tensor, encode, from_wire

GOLDEN_PATH = Path(__file__).resolve().parents[2] / "test/fixtures/worker-protocol/golden.json"


def from_json(value: Any) -> Any:
    """JSON value to wire value: ``{"$bin": hex}`` becomes bytes, tensor-shaped maps become Tensors."""
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return bytes.fromhex(value["$bin"])
        return as_tensor({k: from_json(v) for k, v in value.items()})
    return value


def load_cases() -> list[dict[str, Any]]:
    """The cases of golden.json."""
    return json.loads(GOLDEN_PATH.read_text())["cases"]


def main() -> None:
    """Fills in ``hex`` for every case from the Python encoder."""
    document = json.loads(GOLDEN_PATH.read_text())
    for case in document["cases"]:
        case["hex"] = encode(from_wire(from_json(case["message"]))).hex()
    GOLDEN_PATH.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
