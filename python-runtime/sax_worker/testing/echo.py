"""The ``echo`` servable (config kind ``echo``): instant, deterministic answers for tests.

- ``lm.generate``: one sample, the text upper-cased and reversed, score ``-0.5`` per word.
- ``lm.generate_stream``: the text upper-cased, one chunk per word (``prefix_len`` = length so far).
- ``lm.score``: ``logp[i] = -(len(prefix) + len(suffix[i])) / 4``.
- ``lm.embed``: 8 floats in [0, 1) from a SHA-256 of ``"<seed>:<text>"``.

Switches, through the request's ``extra_inputs``:

- ``items.delay_ms``: sleep that long before answering (unary) or before each chunk (stream);
- ``strings.fail``: a gRPC code name; the call fails with it;
- ``strings.raise``: ``ValueError`` or ``RuntimeError``; the call raises it (tests the code mapping);
- ``strings.fatal``: a message; the call raises FatalError (the worker reports ``fatal`` and exits);
- ``strings.exit``: an exit status; the process ends at once, saying nothing.

Load-time knobs: config ``fail_load`` = ``"value"`` (ValueError, INVALID_ARGUMENT) or ``"runtime"``
(RuntimeError, INTERNAL "Loading error: ..."); config ``fail_load_if_exists`` = a path: the load raises
RuntimeError while that file exists (so a test can make restarts fail after a good first load).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

from sax_worker.errors import FatalError, WorkerError
from sax_worker.servables.base import Payload

_ITEMS = frozenset({"delay_ms"})
_STRINGS = frozenset({"fail", "raise", "fatal", "exit"})
_RAISABLE: Mapping[str, type[Exception]] = {"ValueError": ValueError, "RuntimeError": RuntimeError}
_EMBED_DIM = 8


class EchoServable:
    """A fake LM whose answers are pure functions of the request."""

    methods = frozenset({"lm.generate", "lm.generate_stream", "lm.score", "lm.embed"})
    streaming_methods = frozenset({"lm.generate_stream"})

    def __init__(self, seed: int) -> None:
        self._seed = seed

    @classmethod
    def from_config(cls, config: Mapping[str, Any], checkpoint: str, seed: int) -> EchoServable:
        """Builds the servable; ``config["fail_load"]`` makes it fail instead. The checkpoint is ignored."""
        del checkpoint
        flag = config.get("fail_load_if_exists")
        if isinstance(flag, str) and os.path.exists(flag):
            raise RuntimeError(f"echo: {flag} exists")
        fail = config.get("fail_load")
        if fail == "value":
            raise ValueError("echo: fail_load=value was requested")
        if fail == "runtime":
            raise RuntimeError("echo: fail_load=runtime was requested")
        if fail is not None:
            raise ValueError(f"echo: fail_load must be 'value' or 'runtime', got {fail!r}")
        return cls(seed)

    def call(self, method: str, request: Payload) -> Payload:
        """Answers a unary method."""
        switches = _apply_switches(request)
        _sleep_ms(switches.get("delay_ms", 0))
        if method == "lm.generate":
            text = _text(request, "text")
            return {"texts": [{"text": text.upper()[::-1], "score": -0.5 * len(text.split())}]}
        if method == "lm.score":
            prefix = _text(request, "prefix")
            suffix = request.get("suffix")
            if not isinstance(suffix, list) or not all(isinstance(s, str) for s in suffix):
                raise ValueError("lm.score: suffix must be a list of strings")
            return {"logp": [-(len(prefix) + len(s)) / 4 for s in suffix]}
        if method == "lm.embed":
            return {"embedding": self._embed(_text(request, "text"))}
        raise ValueError(f"echo does not answer {method} as a unary method")

    def stream(self, method: str, request: Payload) -> Iterator[Payload]:
        """Answers lm.generate_stream, one word per chunk."""
        if method != "lm.generate_stream":
            raise ValueError(f"echo does not stream {method}")
        switches = _apply_switches(request)
        delay_ms = switches.get("delay_ms", 0)
        so_far = ""
        for i, word in enumerate(_text(request, "text").upper().split()):
            _sleep_ms(delay_ms)
            piece = word if i == 0 else f" {word}"
            yield {"items": [{"text": piece, "prefix_len": len(so_far), "scores": [-0.5 * (i + 1)]}]}
            so_far += piece

    def close(self) -> None:
        """Nothing to release."""

    def _embed(self, text: str) -> list[float]:
        digest = hashlib.sha256(f"{self._seed}:{text}".encode()).digest()
        return [digest[i] / 256 for i in range(_EMBED_DIM)]


def _text(request: Payload, name: str) -> str:
    value = request.get(name, "")
    if not isinstance(value, str):
        raise ValueError(f"request field {name!r} must be a string, got {type(value).__name__}")
    return value


def _apply_switches(request: Payload) -> dict[str, float]:
    """Validates extra_inputs like a real model would, acts on the string switches, returns the items."""
    extra = request.get("extra_inputs") or {}
    items: Mapping[str, Any] = extra.get("items") or {}
    strings: Mapping[str, Any] = extra.get("strings") or {}
    tensors: Mapping[str, Any] = extra.get("tensors") or {}
    for kind, given, allowed in (("items", items, _ITEMS), ("strings", strings, _STRINGS)):
        unknown = set(given) - allowed
        if unknown:
            names, declared = sorted(unknown), sorted(allowed)
            raise ValueError(f"extra_inputs.{kind} has undeclared keys {names}; declared: {declared}")
    if tensors:
        raise ValueError(f"extra_inputs.tensors has undeclared keys {sorted(tensors)}; echo takes none")
    if "exit" in strings:
        os._exit(int(strings["exit"]))
    if "fatal" in strings:
        raise FatalError(str(strings["fatal"]))
    if "raise" in strings:
        exc_type = _RAISABLE.get(strings["raise"])
        if exc_type is None:
            raise ValueError(f"strings.raise must be one of {sorted(_RAISABLE)}")
        raise exc_type(f"echo: {strings['raise']} requested")
    if "fail" in strings:
        raise WorkerError(str(strings["fail"]), f"echo: failure {strings['fail']} requested")
    return {name: float(value) for name, value in items.items()}


def _sleep_ms(delay_ms: float) -> None:
    if delay_ms > 0:
        time.sleep(delay_ms / 1000)
