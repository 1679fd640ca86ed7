"""LLaMA checkpoint conversion: Meta ``.pth`` shards or Hugging Face safetensors -> a servable checkpoint.

The Saxml tool of the same job (``convert_llama_ckpt.py``, spec data-plane §5.5) loads the whole model
into RAM and leaves the commit marker to the user. Here a conversion streams one variable at a time
through four small parts:

- readers (``meta_source``, ``hf_source``, chosen by ``formats``) present either format under Meta's
  tensor names, one memory-mapped shard part at a time (``source`` is the seam);
- ``sizes`` resolves ``--model-size`` and checks it against the checkpoint's own config file;
- ``mapping`` names the arrays the servable loads and merges each from its source parts into float16;
- ``writer`` fills ``<root>/checkpoint_00000000`` with a resumable journal and commits it last;

``converter`` runs them in order (with ``verify`` and ``progress``) and ``cli`` is the command line.
Nothing heavy is imported here, so ``python -m sax_worker.convert --help`` answers at once.
"""

from sax_worker.convert.errors import ConvertError

__all__ = ["ConvertError"]
