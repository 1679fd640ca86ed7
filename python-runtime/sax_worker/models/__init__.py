"""Models served by the Python worker, in plain JAX.

``build_llama_servable`` turns the model server's LM servable config (architecture, tokenizer, serving
knobs) and a checkpoint (a step directory, or seeded random weights) into a ``Servable`` answering the LM
methods. The modules
split as the style guide asks: config (``llama_config``, ``lm_serving_config``), parameter tree
(``llama_params``), model math (``llama``), token choice (``sampling``), compiled programs and decode loop
(``lm_programs``), tokenizer (``byte_tokenizer``), checkpoints (``checkpoint``) and the servable shell
(``lm_requests``, ``lm_servable``).
"""

from sax_worker.models.byte_tokenizer import ByteTokenizer
from sax_worker.models.checkpoint import load_params, save_params
from sax_worker.models.llama_config import LlamaConfig
from sax_worker.models.llama_params import init_params
from sax_worker.models.lm_servable import NO_CHECKPOINT, LlamaLmServable, build_llama_servable
from sax_worker.models.lm_serving_config import LmServingConfig

__all__ = [
    "NO_CHECKPOINT",
    "ByteTokenizer",
    "LlamaConfig",
    "LlamaLmServable",
    "LmServingConfig",
    "build_llama_servable",
    "init_params",
    "load_params",
    "save_params",
]
