"""The way back from §5.3 arrays to our model, for the Hugging Face fidelity tests (spec data-plane §5.3).

``sax_worker.hf_interop`` takes our serving tree to §5.3 arrays (``checkpoint_arrays``) and on to a
``LlamaForCausalLM`` (``hf_model``). The tests also edit those arrays (EOS-biased weights, norm scales
drawn around 1) and need them back in our model: ``params_from_arrays`` rebuilds the serving tree and
``save_checkpoint`` writes a step directory that ``build_lm_servable`` loads. Together with
``checkpoint_arrays`` they are the only test code that knows how our model holds its parameters;
everything else speaks §5.3 names, which checkpoints keep whatever the serving layout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import jax
import numpy as np

from sax_worker.models.checkpoint import save_params
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params, assemble


def params_from_arrays(cfg: DecoderConfig, arrays: Mapping[str, np.ndarray]) -> Params:
    """The inverse of ``hf_interop.checkpoint_arrays``: the serving tree (layers stacked), on the device."""
    return jax.device_put(assemble(cfg, lambda name, shape: arrays[name]))


def save_checkpoint(
    cfg: DecoderConfig, arrays: Mapping[str, np.ndarray], step_dir: str | os.PathLike[str]
) -> None:
    """Writes §5.3 ``arrays`` as a committed Pax-layout step directory that ``build_lm_servable`` loads."""
    save_params(cfg, params_from_arrays(cfg, arrays), step_dir)


def hf_greedy(
    model, prompt: list[int], max_new_tokens: int, eos_id: int, pad_id: int
) -> tuple[list[int], list[float]]:
    """A transformers model's greedy continuation of ``prompt`` (ids up to EOS, kept) and each new
    token's log-prob under the raw logits, the ones our scores use."""
    import torch

    ids = torch.tensor([prompt])
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=eos_id,
            pad_token_id=pad_id,
            return_dict_in_generate=True,
            output_logits=True,
        )
    new = out.sequences[0, len(prompt) :].tolist()
    if eos_id in new:
        new = new[: new.index(eos_id) + 1]
    return new, [torch.log_softmax(out.logits[i][0].float(), -1)[t].item() for i, t in enumerate(new)]
