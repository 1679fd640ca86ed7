"""Inputs for the peer engines of ``npm run bench -- --peers``: the cell's exact weights and prompts.

Usage (the harness resolves the servable config through the registry and writes the prompts)::

    python -m sax_worker.bench_peers export --config resolved.json --seed 1234 --prompts prompts.json \\
        --out DIR [--llama-cpp SRC]

A peer such as llama.cpp's ``llama-server`` is only comparable with the cell on the same weights and
vocabulary, so the export draws the weights exactly as a worker does for checkpoint "None"
(``parse_lm_config``, ``seed_keys``, ``host_params``) and writes into DIR:

- ``hf/``: a float32 Hugging Face LLaMA checkpoint of those weights (``config.json``,
  ``model.safetensors``; ``hf_interop`` maps names and HF's RoPE layout), the config's SentencePiece
  model as ``tokenizer.model`` and a ``tokenizer_config.json`` naming its special pieces;
- ``model-f32.gguf``: that checkpoint converted by llama.cpp's own ``convert_hf_to_gguf.py --outtype f32``
  from SRC (the llama.cpp source tree; default: the one scripts/build-llama-server unpacks);
- ``prompt_ids.json``: per prompt, the ids the servable prefills ([SOS] + the worker tokenizer's ids).
  Peers are sent these ids rather than text, so tokenisation differences cannot creep in.

Drawing and converting take a while for the bench model, so they are skipped when the GGUF exists and
``export-stamp.json`` records the same architecture, tokenizer file, seed and converter. The command
prints one JSON line: ``{gguf, hf_dir, prompt_ids, parameters, weight_bytes, cached}``.

Only LLaMA-family configs with a SentencePiece tokenizer and seeded random weights can be exported: they
are what llama.cpp's LLaMA architecture and vocabulary types can represent exactly.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sax_worker.bench_baselines import DEFAULT_SEED

if TYPE_CHECKING:
    from sax_worker.models.lm_load import LmConfig
    from sax_worker.models.sentencepiece_tokenizer import SentencePieceTokenizer

#: The llama.cpp source tree that scripts/build-llama-server unpacks (its version is pinned there).
DEFAULT_LLAMA_CPP = Path(__file__).resolve().parents[2] / ".tools/llama.cpp-0.3.36/src"
CONVERTER = "convert_hf_to_gguf.py"
GGUF_NAME = "model-f32.gguf"
HF_DIR_NAME = "hf"
PROMPT_IDS_NAME = "prompt_ids.json"
STAMP_NAME = "export-stamp.json"
#: What convert_hf_to_gguf.py imports for a LLaMA with a SentencePiece vocabulary (module → package).
CONVERTER_MODULES = {
    "numpy": "numpy",
    "sentencepiece": "sentencepiece",
    "yaml": "pyyaml",
    "tqdm": "tqdm",
    "torch": "torch",
    "transformers": "transformers",
    "safetensors": "safetensors",
}
_STDERR_LINES = 6


@dataclasses.dataclass(frozen=True)
class WeightsSummary:
    """Size of an exported checkpoint."""

    parameters: int
    weight_bytes: int


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sax_worker.bench_peers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    export_parser = commands.add_parser("export", help="write the HF checkpoint, GGUF and prompt ids")
    export_parser.add_argument(
        "--config", required=True, help="servable config JSON (the registry's resolve output)"
    )
    export_parser.add_argument("--prompts", required=True, help="JSON file holding a list of prompt strings")
    export_parser.add_argument("--out", required=True, help="folder to write into (created if absent)")
    export_parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="weights seed, as the worker's")
    export_parser.add_argument(
        "--llama-cpp",
        default=str(DEFAULT_LLAMA_CPP),
        help="llama.cpp source tree holding convert_hf_to_gguf.py and gguf-py (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    # JAX only draws the weights here (on the host, identically on every platform): keep it off any
    # accelerator so that it neither reserves device memory nor competes with a peer under test.
    import jax

    jax.config.update("jax_platforms", "cpu")
    try:
        with open(args.config) as f:
            config = json.load(f)
        with open(args.prompts) as f:
            prompts = json.load(f)
        result = export(config, prompts, seed=args.seed, out_dir=args.out, llama_cpp=args.llama_cpp)
    except (OSError, ValueError) as e:
        print(f"bench_peers: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


def export(
    config: Mapping[str, Any],
    prompts: Sequence[str],
    *,
    seed: int,
    out_dir: str | Path,
    llama_cpp: str | Path = DEFAULT_LLAMA_CPP,
) -> dict[str, Any]:
    """Writes the checkpoint, GGUF and prompt ids into ``out_dir`` (see the module docstring); returns
    the JSON object ``main`` prints. ``ValueError`` says which input cannot be exported and why."""
    out = Path(out_dir)
    hf_dir, gguf = out / HF_DIR_NAME, out / GGUF_NAME
    ids = encode_prompts(config, prompts)  # validates the config before anything slow
    converter = Path(llama_cpp) / CONVERTER
    if not converter.is_file():
        raise ValueError(f"{converter} is missing; run scripts/build-llama-server or pass --llama-cpp")
    from sax_worker.models.sentencepiece_tokenizer import read_model_file

    stamp = {
        "weights_sha256": weights_digest(config),
        # The file a tokenizer path names can change under the same path (a retrained bundled model).
        "tokenizer_sha256": hashlib.sha256(read_model_file(config["tokenizer"]["path"])).hexdigest(),
        "seed": seed,
        "converter_sha256": hashlib.sha256(converter.read_bytes()).hexdigest(),
    }
    previous = _read_stamp(out / STAMP_NAME) if gguf.is_file() and hf_dir.is_dir() else {}
    cached = all(previous.get(key) == value for key, value in stamp.items())
    if cached:
        summary = WeightsSummary(previous["parameters"], previous["weight_bytes"])
    else:
        summary = write_hf_checkpoint(config, seed, hf_dir)
        convert_to_gguf(hf_dir, gguf, Path(llama_cpp))
        stamp_text = json.dumps({**stamp, **dataclasses.asdict(summary)}, indent=1)
        (out / STAMP_NAME).write_text(stamp_text + "\n")
    (out / PROMPT_IDS_NAME).write_text(json.dumps(ids) + "\n")
    return {
        "gguf": str(gguf),
        "hf_dir": str(hf_dir),
        "prompt_ids": str(out / PROMPT_IDS_NAME),
        "parameters": summary.parameters,
        "weight_bytes": summary.weight_bytes,
        "cached": cached,
    }


def weights_digest(config: Mapping[str, Any]) -> str:
    """sha256 of what decides the exported files: the architecture and the tokenizer. Serving knobs are
    left out, so that a run with other sequence lengths or decode steps reuses the conversion."""
    relevant = {key: config.get(key) for key in ("architecture", "tokenizer")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def encode_prompts(config: Mapping[str, Any], prompts: Sequence[str]) -> list[list[int]]:
    """The ids the servable prefills for each prompt: its tokenizer's [SOS] + ids, truncated to
    ``inputSeqLen`` the way the servable truncates (``lm_methods``)."""
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise ValueError("prompts: expected a non-empty JSON list of strings")
    lm, tokenizer = _exportable(config)
    serving = lm.serving
    return [tokenizer.encode(p, serving.input_seq_len, slice_left=serving.slice_left) for p in prompts]


def write_hf_checkpoint(config: Mapping[str, Any], seed: int, hf_dir: str | Path) -> WeightsSummary:
    """Writes the worker's weights for checkpoint "None" and ``seed`` as a float32 HF LLaMA checkpoint,
    with the config's SentencePiece model, into ``hf_dir``."""
    import safetensors.torch

    from sax_worker.hf_interop import checkpoint_arrays, hf_config, hf_state_dict
    from sax_worker.models.lm_load import NO_CHECKPOINT, host_params, seed_keys
    from sax_worker.models.sentencepiece_tokenizer import read_model_file

    lm, tokenizer = _exportable(config)
    init_key, _ = seed_keys(seed)
    params, _ = host_params(lm, NO_CHECKPOINT, init_key)
    state = {
        name: tensor.contiguous()
        for name, tensor in hf_state_dict(lm.cfg, checkpoint_arrays(lm.cfg, params)).items()
    }
    out = Path(hf_dir)
    out.mkdir(parents=True, exist_ok=True)
    hf = hf_config(lm.cfg)
    hf.architectures = ["LlamaForCausalLM"]  # convert_hf_to_gguf.py picks its model class by this
    hf.bos_token_id, hf.eos_token_id = tokenizer.sos_id, tokenizer.eos_id
    hf.save_pretrained(out)
    safetensors.torch.save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    (out / "tokenizer.model").write_bytes(read_model_file(config["tokenizer"]["path"]))
    # The converter reads the special pieces and whether text gets a BOS from here; the servable
    # prepends SOS and never appends EOS.
    tokenizer_config = {
        "tokenizer_class": "LlamaTokenizer",
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": tokenizer.id_to_piece(tokenizer.sos_id),
        "eos_token": tokenizer.id_to_piece(tokenizer.eos_id),
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=1) + "\n")
    return WeightsSummary(
        parameters=sum(t.numel() for t in state.values()),
        weight_bytes=sum(t.numel() * t.element_size() for t in state.values()),
    )


def convert_to_gguf(hf_dir: str | Path, gguf: str | Path, llama_cpp: str | Path) -> None:
    """Runs llama.cpp's ``convert_hf_to_gguf.py --outtype f32`` on ``hf_dir`` with this interpreter.

    The converter puts its own ``gguf-py`` first on ``sys.path``, so only its third-party imports must
    be installed; a missing one is reported with the package to install rather than as a traceback.
    The GGUF is written beside ``gguf`` and renamed, so an interrupted run leaves no half file behind.
    """
    missing = sorted(pkg for mod, pkg in CONVERTER_MODULES.items() if importlib.util.find_spec(mod) is None)
    if missing:
        raise ValueError(
            f"{CONVERTER} needs {', '.join(missing)}, missing from {sys.executable}; pip install them"
        )
    target = Path(gguf)
    partial = target.with_name(f"{target.stem}.partial{target.suffix}")
    command = [
        sys.executable,
        str(Path(llama_cpp) / CONVERTER),
        str(hf_dir),
        *("--outtype", "f32", "--outfile", str(partial)),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-_STDERR_LINES:])
        raise ValueError(f"{CONVERTER} exited with {result.returncode}: {tail}")
    partial.replace(target)


def _exportable(config: Mapping[str, Any]) -> tuple[LmConfig, SentencePieceTokenizer]:
    """The parsed config and its tokenizer, or ``ValueError`` when llama.cpp cannot mirror them."""
    from sax_worker.models.lm_load import NO_CHECKPOINT, parse_lm_config
    from sax_worker.models.sentencepiece_tokenizer import SentencePieceTokenizer

    lm = parse_lm_config(config, NO_CHECKPOINT, config.get("framework", "jax"))
    if lm.cfg.family != "llama":
        raise ValueError(f"export needs a llama-family config for llama.cpp, got family {lm.cfg.family!r}")
    if not isinstance(lm.tokenizer, SentencePieceTokenizer):
        raise ValueError(
            "export needs a SentencePiece tokenizer, which llama.cpp's LLaMA vocabulary mirrors; got "
            f"type {config.get('tokenizer', {}).get('type')!r}"
        )
    if not lm.random_weights:
        raise ValueError(
            'export draws the seeded random weights a worker serves for checkpoint "None"; the config '
            "must set randomWeightsWhenNoCheckpoint or testMode"
        )
    return lm, lm.tokenizer


def _read_stamp(path: Path) -> dict[str, Any]:
    """The stamp of a previous export; empty when there is none or it is unreadable (then it is redone)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


if __name__ == "__main__":
    sys.exit(main())
