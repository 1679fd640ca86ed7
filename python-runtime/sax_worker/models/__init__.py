"""Models served by the Python worker, in plain JAX.

``build_lm_servable`` turns the model server's LM servable config (architecture, tokenizer, serving
knobs, mesh shapes) and a checkpoint (a committed step directory, or seeded random weights) into a
``Servable`` answering the LM methods. The modules split as the style guide asks: config
(``decoder_config``, ``lm_serving_config``), parameters and their checkpoint names (``decoder_params``),
model math (``decoder``), device placement (``mesh``), token choice (``sampling``), compiled programs and
decode loop (``lm_programs``), tokenizers (``byte_tokenizer``), checkpoints (``checkpoint``) and the
servable shell (``lm_requests``, ``lm_servable``).
"""

from sax_worker.models.byte_tokenizer import ByteTokenizer
from sax_worker.models.checkpoint import load_params, save_params
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import init_params
from sax_worker.models.lm_servable import NO_CHECKPOINT, LmServable, build_lm_servable
from sax_worker.models.lm_serving_config import LmServingConfig

__all__ = [
    "NO_CHECKPOINT",
    "ByteTokenizer",
    "DecoderConfig",
    "LmServable",
    "LmServingConfig",
    "build_lm_servable",
    "init_params",
    "load_params",
    "save_params",
]
