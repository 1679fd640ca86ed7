"""Models served by the Python worker in PyTorch: the LLaMA family, on one CPU or CUDA device.

``build_torch_lm_servable`` turns an LM servable config with framework "torch" into a servable answering
the LM methods with the same weights, checkpoints and request semantics as the JAX servable of
``sax_worker.models``. The modules split as the style guide asks: weights and device choice
(``weights``), model math (``decoder``), token choice (``sampling``), the decode loop and whole-sequence
programs (``programs``) and the servable shell (``lm_servable``).
"""

from sax_worker.torch_models.lm_servable import TorchLmServable, build_torch_lm_servable

__all__ = ["TorchLmServable", "build_torch_lm_servable"]
