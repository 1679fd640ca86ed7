"""``lm.generate`` through the vLLM library (Saxml's ``vllm_params.QWen1P5B`` / ``Gemma4B``, spec §6).

The Load request's checkpoint is a Hugging Face model id or directory ("None" or empty: the config's
``defaultModel``). vLLM may fetch and read it, but never runs code shipped with it: remote code stays
disabled (spec §1.7). One prompt per call; vLLM schedules the device itself.

Unlike Saxml's servable, a reply holds only the generated samples (Saxml appends an extra ("", 0.0)).
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator, Mapping
from typing import Any, Final

import torch

from sax_worker.errors import WorkerError
from sax_worker.servables.base import Payload
from sax_worker.vision.config import NO_CHECKPOINT, camel_fields
from sax_worker.vision.servable import reject_extra_inputs, string_field

#: Keys of the registry's config that the model server, not this servable, acts on.
_SERVER_KEYS: Final = frozenset({"kind", "serving", "meshShapes", "platforms"})


@dataclasses.dataclass(frozen=True)
class VllmConfig:
    """A ``vllm`` servable config: the model served when the checkpoint names none, and sampling."""

    default_model: str
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = -1  # -1: no top-k cut
    max_tokens: int = 1024

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> VllmConfig:
        """Parses the registry's camelCase config; ``ValueError`` for unknown keys or bad values."""
        model = raw.get("defaultModel")
        if not isinstance(model, str) or not model:
            raise ValueError(
                f"vllm servable config: 'defaultModel' must be a non-empty string, got {model!r}"
            )
        config = camel_fields(cls, raw, "vllm servable config", also=_SERVER_KEYS)
        if config.temperature < 0 or not 0 < config.top_p <= 1 or config.top_k == 0 or config.top_k < -1:
            raise ValueError(f"vllm servable config: sampling knobs out of range: {dict(raw)}")
        if config.max_tokens < 1:
            raise ValueError(f"vllm servable config: 'maxTokens' must be positive, got {config.max_tokens}")
        return config


class VllmServable:
    """A vLLM engine answering ``lm.generate``."""

    methods = frozenset({"lm.generate"})
    streaming_methods = frozenset[str]()

    def __init__(self, llm: Any, sampling: Any) -> None:
        """``llm``: a ``vllm.LLM``; ``sampling``: the ``vllm.SamplingParams`` of every request."""
        self._llm: Any = llm
        self._sampling = sampling
        #: What loading cost; vLLM does not report it in the model server's terms.
        self.load_info: dict[str, float] = {}

    def call(self, method: str, request: Payload) -> Payload:
        if method not in self.methods:
            raise ValueError(f"model does not support {method}; it answers ['lm.generate']")
        reject_extra_inputs(method, request)
        text = string_field(request, "text")
        (output,) = self._llm.generate([text], self._sampling, use_tqdm=False)
        return {
            "texts": [{"text": o.text, "score": float(o.cumulative_logprob or 0.0)} for o in output.outputs]
        }

    def stream(self, method: str, request: Payload) -> Iterator[Payload]:
        raise ValueError(f"{method} is not a streaming method of this model")

    def close(self) -> None:
        # The engine holds the device memory; collect it now rather than whenever the cycle collector runs.
        self._llm = None
        gc.collect()
        torch.cuda.empty_cache()


def build_vllm_servable(config: Mapping[str, Any], checkpoint: str, seed: int) -> VllmServable:
    """Starts a vLLM engine on one CUDA device for the model ``checkpoint`` names.

    ``ValueError`` for a bad config; FAILED_PRECONDITION without CUDA or without the vllm package.
    """
    parsed = VllmConfig.from_dict(config)
    if not torch.cuda.is_available():
        raise WorkerError(
            "FAILED_PRECONDITION",
            "vLLM models need a CUDA device and torch sees none on this host; serve this class from a "
            "model server with a GPU (--jax_platforms cuda)",
        )
    try:
        import vllm
    except ModuleNotFoundError as err:
        if err.name != "vllm":
            raise
        raise WorkerError(
            "FAILED_PRECONDITION",
            "this class needs the vllm package, which this worker's venv does not have; install it with "
            "`python-runtime/.venv/bin/pip install vllm` (it pins its own torch)",
        ) from err
    llm = vllm.LLM(
        model=parsed.default_model if checkpoint in ("", NO_CHECKPOINT) else checkpoint,
        tensor_parallel_size=1,
        gpu_memory_utilization=0.90,
        dtype="auto",
        seed=seed,
        trust_remote_code=False,
    )
    sampling = vllm.SamplingParams(
        temperature=parsed.temperature,
        top_p=parsed.top_p,
        top_k=parsed.top_k,
        max_tokens=parsed.max_tokens,
        stop=[],
    )
    return VllmServable(llm, sampling)
