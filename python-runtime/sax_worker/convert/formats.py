"""Which reader a checkpoint directory needs: Meta's ``*.pth`` shards or Hugging Face safetensors."""

from __future__ import annotations

from pathlib import Path

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.hf_source import HfSource
from sax_worker.convert.meta_source import MetaSource
from sax_worker.convert.source import INPUT_FORMATS, Source


def open_source(path: Path, input_format: str) -> Source:
    """The checkpoint in directory ``path``, read as ``input_format``."""
    if not path.is_dir():
        raise ConvertError(
            f"--base-model-path {path} is not a directory (it must hold the checkpoint's files)"
        )
    if input_format == "auto":
        input_format = _detect(path)
    if input_format == "meta":
        return MetaSource(path)
    if input_format == "hf":
        return HfSource(path)
    raise ConvertError(f"unknown --input-format {input_format!r}; choose one of {', '.join(INPUT_FORMATS)}")


def _detect(path: Path) -> str:
    found = [fmt for fmt, pattern in (("meta", "*.pth"), ("hf", "*.safetensors")) if any(path.glob(pattern))]
    if len(found) == 1:
        return found[0]
    if found:
        raise ConvertError(
            f"{path} holds both *.pth (Meta) and *.safetensors (Hugging Face) files; "
            "say which to read with --input-format meta or --input-format hf"
        )
    raise ConvertError(
        f"{path} holds no *.pth (Meta: consolidated.NN.pth and params.json) or *.safetensors "
        "(Hugging Face: model*.safetensors and config.json) files"
    )
