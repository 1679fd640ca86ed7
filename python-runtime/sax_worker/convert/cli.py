"""``python -m sax_worker.convert`` (what ``bin/convert_llama_ckpt`` runs): flags in, exit status out.

The flags are Saxml's ``convert_llama_ckpt.py`` ones (``--base-model-path``, ``--pax-model-path``,
``--model-size``, and the ``--base``/``--pax`` its documentation uses), plus ``--input-format``, the
dimensions of a custom size and ``--verify``. Exit status: 0 converted (the step directory to publish
is printed on stdout), 1 failed (one ``convert_llama_ckpt: …`` line on stderr), 2 usage error, 130
interrupted (the output stays uncommitted; the same command resumes it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.sizes import CUSTOM, DIMENSION_FLAGS, MODEL_SIZES
from sax_worker.convert.source import INPUT_FORMATS

PROG = "convert_llama_ckpt"


def main(argv: Sequence[str] | None = None) -> int:
    """Parses ``argv`` (@default ``sys.argv[1:]``), converts, returns the exit status."""
    args = _parser().parse_args(argv)
    # Imported after parsing, so that --help and usage errors answer without loading torch and JAX.
    from sax_worker.convert.converter import ConvertOptions, convert

    options = ConvertOptions(
        base_model_path=args.base_model_path,
        pax_model_path=args.pax_model_path,
        model_size=args.model_size,
        input_format=args.input_format,
        dimensions={field: getattr(args, field) for field in DIMENSION_FLAGS},
        combined_qkv=args.combined_qkv,
        verify=args.verify,
    )
    try:
        step_dir = convert(options, sys.stderr)
    except ConvertError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; an unfinished output stays uncommitted; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    print(step_dir)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Convert Meta (consolidated.NN.pth) or Hugging Face (safetensors) LLaMA weights into a "
        "Pax-layout checkpoint that the JAX LLaMA servables load, in bounded memory.",
    )
    parser.add_argument(
        "--base-model-path",
        "--base",
        required=True,
        type=Path,
        metavar="DIR",
        help="input directory: Meta's consolidated.NN.pth shards and params.json, or Hugging Face's "
        "*.safetensors files and config.json",
    )
    parser.add_argument(
        "--pax-model-path",
        "--pax",
        required=True,
        metavar="ROOT",
        help="output root, a local directory or gs://bucket/path; the checkpoint is written to "
        "<root>/checkpoint_00000000, the path to publish",
    )
    parser.add_argument(
        "--model-size",
        required=True,
        choices=[*MODEL_SIZES, CUSTOM],
        help=f"the model's size, one of Saxml's keys, or {CUSTOM} with the dimension flags below",
    )
    parser.add_argument(
        "--input-format", choices=INPUT_FORMATS, default="auto", help="input format (default: by the files)"
    )
    custom = parser.add_argument_group(
        f"dimensions of --model-size {CUSTOM}", "each defaults to what params.json or config.json says"
    )
    for field, flag in DIMENSION_FLAGS.items():
        custom.add_argument(flag, dest=field, type=_positive_int, metavar="N")
    custom.add_argument(
        "--combined-qkv",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="store attention as one combined_qkv weight (servable useMqa false) or as separate q/k/v "
        "weights (useMqa true); default: combined when --num-kv-heads equals --num-heads",
    )
    parser.add_argument(
        "--verify", action="store_true", help="read every written array back and compare it with the source"
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value
