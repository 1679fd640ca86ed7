"""``vm.generate`` (text to image) with a small text-conditioned diffusion model written here in torch.

How a request becomes images:

- Text: the prompt's UTF-8 bytes (the first ``maxTextBytes``) after a start token every prompt has, so
  the empty prompt has a vector too, are embedded, mean-pooled and projected to a text vector
  [textDims].
- Denoiser: a two-level UNet (``baseChannels`` wide at ``imageSize``, twice that at half the size)
  that predicts the noise in a noisy image. The timestep (a sinusoidal embedding) and the text vector
  are summed into one conditioning vector, which scales and shifts the features of every residual
  block (FiLM).
- Sampler: deterministic DDIM (eta = 0) over ``steps`` of the 1000 timesteps of DDPM's linear beta
  schedule (1e-4 to 0.02), the schedule such models are commonly trained with, starting from Gaussian
  noise x_T and clipping each predicted clean image to [-1, 1].
- Randomness: x_T for the k-th request a servable answers (counting from 0) is drawn on the CPU from a
  generator seeded from (load seed, k), so a fresh servable given the same request sequence answers
  identically, and starts from the same noise on any device.
- Score: minus the mean squared noise the denoiser still predicts at the last step. A sample the model
  takes for a clean image scores near 0; one it would keep denoising scores lower. Samples are sent
  best first.

Weights are seeded random ones for checkpoint "None", else a state-dict file loaded strictly.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sax_worker.servables.base import Payload
from sax_worker.torch_models.weights import torch_device
from sax_worker.vision.config import NO_CHECKPOINT, VisionConfig, camel_fields
from sax_worker.vision.images import encode_png
from sax_worker.vision.servable import VisionServable, per_request, string_field
from sax_worker.vision.state_dict import load_module_state

#: Timesteps of the noise schedule the denoiser is conditioned on.
TRAIN_STEPS: Final = 1000

_START: Final = 256  # token id before every prompt's bytes
_PAD: Final = 257  # token id after a prompt's bytes, up to the longest prompt of a batch


@dataclasses.dataclass(frozen=True)
class DiffusionArchitecture:
    """The ``architecture`` of a ``tiny_diffusion`` config."""

    image_size: int = 32  # pixels per side; even, as the UNet halves it once
    base_channels: int = 32
    text_dims: int = 64
    max_text_bytes: int = 64  # longer prompts are cut to their first bytes
    steps: int = 10  # DDIM steps per image
    num_samples: int = 2  # images per request

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DiffusionArchitecture:
        arch = camel_fields(cls, raw, "tiny_diffusion architecture", also=frozenset({"family"}))
        sizes = (arch.base_channels, arch.text_dims, arch.max_text_bytes, arch.num_samples)
        if arch.image_size < 2 or arch.image_size % 2 or min(sizes) < 1 or not 1 <= arch.steps <= TRAIN_STEPS:
            raise ValueError(
                f"tiny_diffusion architecture out of range: {dict(raw)} "
                f"(sizes positive, imageSize even, steps 1..{TRAIN_STEPS})"
            )
        return arch


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, channels), channels)


class TextEncoder(nn.Module):
    """Token ids [B, L] (start token, bytes, padding) -> text vectors [B, D]."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(_PAD + 1, dims, padding_idx=_PAD)
        self.proj = nn.Linear(dims, dims)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != _PAD).unsqueeze(-1).float()  # [B, L, 1]
        pooled = (self.embed(tokens) * mask).sum(1) / mask.sum(1)  # [B, D]
        return self.proj(pooled)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a residual path; the conditioning vector scales and shifts the
    features in between."""

    def __init__(self, in_channels: int, out_channels: int, cond_dims: int) -> None:
        super().__init__()
        self.norm1 = _norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.film = nn.Linear(cond_dims, 2 * out_channels)
        self.norm2 = _norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # [B, Cout, H, W]
        scale, shift = self.film(cond)[:, :, None, None].chunk(2, dim=1)  # [B, Cout, 1, 1] each
        h = self.conv2(F.silu(self.norm2(h) * (1 + scale) + shift))
        return self.skip(x) + h


class Denoiser(nn.Module):
    """Predicts the noise in x_t [B, 3, S, S] at timesteps [B] given text vectors [B, textDims]."""

    def __init__(self, arch: DiffusionArchitecture) -> None:
        super().__init__()
        c = arch.base_channels
        cond = 4 * c
        self.channels = c
        self.text = TextEncoder(arch.text_dims)
        self.time_mlp = nn.Sequential(nn.Linear(c, cond), nn.SiLU(), nn.Linear(cond, cond))
        self.text_proj = nn.Linear(arch.text_dims, cond)
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.down = ResBlock(c, c, cond)
        self.downsample = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.mid = ResBlock(2 * c, 2 * c, cond)
        self.upsample = nn.Conv2d(2 * c, c, 3, padding=1)
        self.merge = ResBlock(2 * c, c, cond)
        self.out_norm = _norm(c)
        self.out = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        cond = F.silu(self.time_mlp(timestep_embedding(t, self.channels)) + self.text_proj(text))  # [B, 4C]
        skip = self.down(self.stem(x), cond)  # [B, C, S, S]
        h = self.mid(self.downsample(skip), cond)  # [B, 2C, S/2, S/2]
        h = self.upsample(F.interpolate(h, scale_factor=2.0, mode="nearest"))  # [B, C, S, S]
        h = self.merge(torch.cat([skip, h], dim=1), cond)  # [B, C, S, S]
        return self.out(F.silu(self.out_norm(h)))  # [B, 3, S, S]


def timestep_embedding(t: torch.Tensor, dims: int) -> torch.Tensor:
    """Sinusoidal embeddings [B, dims] of integer timesteps [B] (sines, then cosines)."""
    half = dims // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / max(half, 1))  # [half]
    angles = t.float()[:, None] * freqs[None, :]  # [B, half]
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)  # [B, 2·half]
    return F.pad(emb, (0, dims - 2 * half))


def ddim_sample(
    model: Denoiser, noise: torch.Tensor, text: torch.Tensor, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [B, 3, S, S] in [-1, 1] from x_T = ``noise``, and each one's score [B] (module docstring)."""
    alpha_bars = torch.cumprod(1.0 - torch.linspace(1e-4, 0.02, TRAIN_STEPS, dtype=torch.float64), 0)
    timesteps = torch.linspace(TRAIN_STEPS - 1, 0, steps).round().long().tolist()
    x = noise
    eps = torch.zeros_like(noise)
    for i, t in enumerate(timesteps):
        alpha_bar = float(alpha_bars[t])
        alpha_bar_next = float(alpha_bars[timesteps[i + 1]]) if i + 1 < steps else 1.0
        eps = model(x, torch.full((x.shape[0],), t, device=x.device), text)  # [B, 3, S, S]
        clean = ((x - math.sqrt(1.0 - alpha_bar) * eps) / math.sqrt(alpha_bar)).clamp(-1.0, 1.0)
        x = math.sqrt(alpha_bar_next) * clean + math.sqrt(1.0 - alpha_bar_next) * eps
    return x, -eps.square().mean(dim=(1, 2, 3))


def build_diffusion_torch(vc: VisionConfig, checkpoint: str, seed: int) -> VisionServable:
    """The ``tiny_diffusion`` servable: ``vm.generate`` on the device ``JAX_PLATFORMS`` names.

    ``vm.generate`` takes ``{"text"}`` and answers ``{"images": [{"image": PNG bytes, "score"}, ...]}``,
    ``numSamples`` RGB images of ``imageSize`` squared, best score first. ``load_info`` has the
    parameter count, the seconds spent building and loading weights, and the checkpoint bytes read.
    """
    unsupported = sorted(vc.methods - {"vm.generate"})
    if unsupported:
        raise ValueError(f"tiny_diffusion answers only vm.generate, not {unsupported}")
    if vc.preprocessing is not None:
        raise ValueError("tiny_diffusion takes no images: 'preprocessing' must be null")
    arch = DiffusionArchitecture.from_dict(vc.architecture)
    if checkpoint == NO_CHECKPOINT and not vc.random_weights:
        raise ValueError(
            "this tiny_diffusion config needs a checkpoint: randomWeightsWhenNoCheckpoint is false"
        )
    device = torch_device(os.environ.get("JAX_PLATFORMS"))
    start = time.monotonic()
    with torch.random.fork_rng(devices=[]):  # seeds the init without moving the global generator
        torch.manual_seed(seed)
        model = Denoiser(arch).eval()
    read_bytes = 0 if vc.random_weights else load_module_state(model, checkpoint, "tiny_diffusion")
    generator = _Generator(model.to(device), arch, device, seed)
    load_info = {
        "parameters": float(sum(p.numel() for p in model.parameters())),
        "weights_seconds": time.monotonic() - start,
        "checkpoint_bytes": float(read_bytes),
    }
    handler = per_request(generator.prepare, generator.run)
    return VisionServable(
        {"vm.generate": handler}, vc.serving, load_info=load_info, release=generator.release
    )


@dataclasses.dataclass(frozen=True)
class _Prompt:
    tokens: list[int]  # start token, then the prompt's bytes
    noise: torch.Tensor  # [numSamples, 3, S, S] x_T, on the CPU


class _Generator:
    """The model behind ``vm.generate`` and the request counter that seeds each request's noise;
    ``release`` drops the model, so a closed servable frees its memory."""

    def __init__(self, model: Denoiser, arch: DiffusionArchitecture, device: torch.device, seed: int) -> None:
        self._model: Denoiser | None = model
        self._arch = arch
        self._device = device
        self._seed = seed % 2**64
        self._requests = 0

    def prepare(self, request: Payload) -> _Prompt:
        data = string_field(request, "text").encode("utf-8")[: self._arch.max_text_bytes]
        entropy = np.random.SeedSequence([self._seed, self._requests]).generate_state(1, np.uint64)[0]
        self._requests += 1
        size = self._arch.image_size
        generator = torch.Generator().manual_seed(int(entropy))
        noise = torch.randn((self._arch.num_samples, 3, size, size), generator=generator)
        return _Prompt([_START, *data], noise)

    def run(self, prompts: list[_Prompt]) -> Sequence[Payload]:
        assert self._model is not None, "vm.generate after close"
        length = max(len(p.tokens) for p in prompts)
        tokens = torch.tensor([p.tokens + [_PAD] * (length - len(p.tokens)) for p in prompts])  # [P, L]
        n = self._arch.num_samples
        with torch.inference_mode():
            text = self._model.text(tokens.to(self._device)).repeat_interleave(n, dim=0)  # [P·n, T]
            noise = torch.cat([p.noise for p in prompts]).to(self._device)  # [P·n, 3, S, S]
            images, scores = ddim_sample(self._model, noise, text, self._arch.steps)
        pixels = ((images + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)  # [P·n, 3, S, S]
        pixels_np = pixels.permute(0, 2, 3, 1).cpu().numpy()  # [P·n, S, S, 3]
        scores_np = scores.cpu().numpy()  # [P·n]
        replies = []
        for first in range(0, len(prompts) * n, n):
            order = first + np.argsort(-scores_np[first : first + n], kind="stable")
            samples = [{"image": encode_png(pixels_np[j]), "score": float(scores_np[j])} for j in order]
            replies.append({"images": samples})
        return replies

    def release(self) -> None:
        self._model = None
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
