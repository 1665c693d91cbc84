"""Sizing image-generation pipelines and speech models: every component's weights, the
activations of one request, and the runtime.

A diffusers pipeline (`model_index.json`) keeps every component in memory: the weights are the
sum of each component folder's safetensors (exact, from headers; the variant diffusers loads by
default, not its `.fp16` copies). One image runs the text encoder, then the denoiser (UNet or
transformer) once per step, then the VAE decoder; the peak is the largest of those stages.
A speech model (Piper `.onnx` + `.onnx.json`, Kokoro, transformers' VITS/MMS) holds its weights,
its voices and the audio of one request. The allowances, with their sources, are in
`data/media_sizing.toml`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from airlock.fit import accelerators, params
from airlock.fit.inputs import InputError, snapshot
from airlock.fit.params import Tensor
from airlock.headers.safetensors import read_header

DIFFUSION = "diffusion"
SPEECH = "speech"
_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}
# Weight files sized by their length where no header gives tensors (ONNX, pickles).
_WEIGHT_SUFFIXES = (".onnx", ".onnx.data", ".pth", ".pt", ".bin", ".ckpt")
_VOICE_SUFFIXES = (".pt", ".bin", ".npz", ".npy")


@dataclass(frozen=True)
class Component:
    name: str  # the folder (diffusers) or role (speech: model, voices)
    cls: str  # the class model_index.json names, or the file format
    parameters: int  # from safetensors headers; 0 where only bytes are known
    weight_bytes: int
    files: tuple[str, ...]
    exact: bool  # counted from headers (False: sized by file length)


@dataclass(frozen=True)
class MediaFit:
    kind: str  # diffusion | speech
    family: str  # the pipeline class, or piper / kokoro / vits
    components: tuple[Component, ...]
    activations: dict[str, int]  # per stage; stages run one after another
    runtime_bytes: int
    setting: str  # what the activations are for: "512x512, batch 1", "30 s at 22,050 Hz"
    tensors: tuple[Tensor, ...]  # every component's, names prefixed with the component
    notes: tuple[str, ...] = ()

    @property
    def weights_bytes(self) -> int:
        return sum(c.weight_bytes for c in self.components)

    @property
    def parameters(self) -> int:
        return sum(c.parameters for c in self.components)

    @property
    def activation_bytes(self) -> int:
        return max(self.activations.values(), default=0)

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.activation_bytes + self.runtime_bytes


@dataclass(frozen=True)
class Allowances:
    """data/media_sizing.toml: what the activation estimates assume, each with its source."""

    guidance_batch: int
    denoiser_live_maps: int
    vae_live_maps: int
    seconds: int
    vocoder_channels: int
    vocoder_live_maps: int
    kokoro_sample_rate: int


@cache
def allowances() -> Allowances:
    text = resources.files("airlock.data").joinpath("media_sizing.toml").read_text("utf-8")
    data = tomllib.loads(text)
    diffusion, speech = data["diffusion"], data["speech"]
    return Allowances(
        guidance_batch=int(diffusion["guidance_batch"]),
        denoiser_live_maps=int(diffusion["denoiser_live_maps"]),
        vae_live_maps=int(diffusion["vae_live_maps"]),
        seconds=int(speech["seconds"]),
        vocoder_channels=int(speech["vocoder_channels"]),
        vocoder_live_maps=int(speech["vocoder_live_maps"]),
        kokoro_sample_rate=int(speech["kokoro_sample_rate"]),
    )


def size_media(path: Path, resolution: int | None = None, batch: int = 1) -> MediaFit | None:
    """The figures for a pipeline or voice folder (or a Hugging Face cache repository of one);
    None for any other model."""
    if not path.is_dir():
        return None
    path = snapshot(path)
    if (path / "model_index.json").is_file():
        return _diffusion(path, resolution, batch)
    return _speech(path)


# --- diffusion ---------------------------------------------------------------------------------


def _diffusion(folder: Path, resolution: int | None, batch: int) -> MediaFit:
    index = _json(folder / "model_index.json")
    components: list[Component] = []
    tensors: list[Tensor] = []
    notes: list[str] = []
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or len(value) != 2:
            continue
        if value[1] is None:
            continue  # an optional component left out
        sub = folder / name
        if sub.resolve().parent != folder.resolve() or not sub.is_dir():
            notes.append(f"{name}: no folder {name}/ (not counted)")
            continue
        component, found = _component(sub, name, str(value[1]))
        components.append(component)
        tensors += found
        if not component.exact and component.weight_bytes:
            notes.append(f"{name}: no safetensors; sized by the length of {component.files[0]}")
    configs = {c.name: _config(folder / c.name) for c in components}
    vae = configs.get("vae") or {}
    factor = 2 ** max(0, len(vae.get("block_out_channels") or [0]) - 1)
    denoiser_name = "unet" if "unet" in configs else "transformer"
    denoiser = configs.get(denoiser_name) or {}
    side = resolution or int(denoiser.get("sample_size") or 64) * factor
    if side % factor:
        raise InputError(f"resolution {side} is not a multiple of the VAE's factor {factor}")
    dtype_bytes = _dtype_bytes(
        [t for t in tensors if t.name.startswith(f"{denoiser_name}.")] or tensors
    )
    shape = _Shape(side // factor, side // factor, side, batch, dtype_bytes)
    activations = {}
    if denoiser:
        activations[denoiser_name] = _denoiser(denoiser, shape)
    if vae:
        activations["vae"] = _vae_decode(vae, shape)
    text = configs.get("text_encoder") or {}
    if text:
        activations["text_encoder"] = _text_encoder(text, shape)
    if not activations:
        notes.append("no unet, transformer or vae config: activations not estimated")
    return MediaFit(
        kind=DIFFUSION,
        family=str(index.get("_class_name", "DiffusionPipeline")),
        components=tuple(components),
        activations=activations,
        runtime_bytes=accelerators.runtimes()["cpu"].bytes,
        setting=f"{side}x{side}, batch {batch}",
        tensors=tuple(tensors),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Shape:
    latent_h: int
    latent_w: int
    side: int  # the image's height and width
    batch: int
    bytes: int

    @property
    def tokens(self) -> int:
        return self.latent_h * self.latent_w


def _denoiser(config: dict[str, Any], shape: _Shape) -> int:
    """One denoising step: the first level's live feature maps + the attention scores of the
    highest-resolution level that attends."""
    constants = allowances()
    runs = constants.guidance_batch * shape.batch
    if "block_out_channels" in config:  # a UNet
        channels = list(config["block_out_channels"])
        kinds = list(config.get("down_block_types") or [])
        level = next((i for i, kind in enumerate(kinds) if "Attn" in str(kind)), None)
        maps = runs * shape.tokens * int(channels[0]) * shape.bytes * constants.denoiser_live_maps
        if level is None:
            return maps
        heads = config.get("num_attention_heads") or config.get("attention_head_dim") or 8
        heads_here = int(heads[level] if isinstance(heads, list) else heads)
        tokens_here = shape.tokens >> (2 * level)  # a quarter of the tokens per level down
        return maps + runs * heads_here * tokens_here**2 * shape.bytes
    # A transformer denoiser (SD3, Flux, PixArt): patches of the latent are its tokens.
    patch = int(config.get("patch_size") or 2)
    tokens = shape.tokens // (patch * patch)
    heads = int(config.get("num_attention_heads") or 16)
    hidden = heads * int(config.get("attention_head_dim") or 64)
    maps = runs * tokens * hidden * shape.bytes * constants.denoiser_live_maps
    return maps + runs * heads * tokens**2 * shape.bytes


def _vae_decode(config: dict[str, Any], shape: _Shape) -> int:
    """The decoder's full-resolution maps + its mid-block attention over the latent (one head)."""
    channels = list(config.get("block_out_channels") or [128])
    full = int(channels[1] if len(channels) > 1 else channels[0])
    maps = shape.batch * shape.side**2 * full * shape.bytes * allowances().vae_live_maps
    return maps + shape.batch * shape.tokens**2 * shape.bytes


def _text_encoder(config: dict[str, Any], shape: _Shape) -> int:
    runs = allowances().guidance_batch * shape.batch
    tokens = int(config.get("max_position_embeddings") or 77)
    hidden = int(config.get("hidden_size") or 768)
    heads = int(config.get("num_attention_heads") or 12)
    return runs * tokens * (4 * hidden + heads * tokens) * shape.bytes


def _component(folder: Path, name: str, cls: str) -> tuple[Component, list[Tensor]]:
    shards = _loaded_safetensors(folder)
    if shards:
        found = [
            Tensor(f"{name}.{t.name}", t.shape, t.dtype, t.nbytes)
            for shard in shards
            for t in params.from_safetensors(read_header(shard))
        ]
        counts = params.count(found)
        names = tuple(f"{name}/{s.name}" for s in shards)
        return Component(name, cls, counts.parameters, counts.stored_bytes, names, True), found
    others = sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES)
    )
    size = sum(p.stat().st_size for p in others)
    return Component(name, cls, 0, size, tuple(f"{name}/{p.name}" for p in others), False), []


def _loaded_safetensors(folder: Path) -> list[Path]:
    """The safetensors diffusers loads by default: the shards an index lists, else the files
    without a variant tag (`x.fp16.safetensors` is the fp16 copy of `x.safetensors`)."""
    for index in sorted(folder.glob("*.safetensors.index.json")):
        if index.name.count(".") > 2:
            continue  # a variant's index
        weight_map = _json(index).get("weight_map")
        if not isinstance(weight_map, dict):
            raise InputError(f"{index}: no weight_map")
        shards = sorted({folder / str(shard) for shard in weight_map.values()})
        for shard in shards:
            if shard.resolve().parent != folder.resolve() or not shard.is_file():
                raise InputError(f"{index}: shard {shard.name!r} is missing or outside the folder")
        return shards
    every = sorted(folder.glob("*.safetensors"))
    plain = [p for p in every if p.name.count(".") == 1]
    return plain or every[:1]


def _dtype_bytes(tensors: list[Tensor]) -> int:
    counts = params.count(tensors)
    return _BYTES.get(counts.main_dtype, 4)


# --- speech ------------------------------------------------------------------------------------


def _speech(folder: Path) -> MediaFit | None:
    constants = allowances()
    piper = sorted(p for p in folder.glob("*.onnx") if (folder / f"{p.name}.json").is_file())
    config = _config(folder)
    if piper:
        family = "piper"
        rate = int(
            ((_json(folder / f"{piper[0].name}.json").get("audio") or {}).get("sample_rate"))
            or 22050
        )
        channels = constants.vocoder_channels
    elif config.get("model_type") == "vits":
        family = "vits"
        rate = int(config.get("sampling_rate") or 16000)
        upsample = list(config.get("upsample_rates") or [8, 8, 2, 2])
        channels = int(config.get("upsample_initial_channel") or 512) // 2 ** len(upsample)
    elif "istftnet" in config:
        family = "kokoro"
        rate = constants.kokoro_sample_rate
        channels = constants.vocoder_channels
    else:
        return None
    components: list[Component] = []
    tensors: list[Tensor] = []
    shards = sorted(folder.glob("*.safetensors"))
    if shards:
        found = [t for shard in shards for t in params.from_safetensors(read_header(shard))]
        counts = params.count(found)
        components.append(
            Component(
                "model",
                "safetensors",
                counts.parameters,
                counts.stored_bytes,
                tuple(s.name for s in shards),
                True,
            )
        )
        tensors = found
    else:
        weights = sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES) and not p.name.startswith("voices")
        )
        if weights:
            components.append(
                Component(
                    "model",
                    weights[0].suffix.lstrip("."),
                    0,
                    sum(p.stat().st_size for p in weights),
                    tuple(p.name for p in weights),
                    False,
                )
            )
    voices = sorted(
        p.relative_to(folder)
        for p in [*folder.glob("voices/*"), *folder.glob("voices*")]
        if p.is_file() and p.name.endswith(_VOICE_SUFFIXES)
    )
    if voices:
        components.append(
            Component(
                "voices",
                "voice files",
                0,
                sum((folder / v).stat().st_size for v in voices),
                tuple(v.as_posix() for v in voices),
                False,
            )
        )
    seconds = constants.seconds
    samples = seconds * rate
    activations = {"vocoder": samples * channels * 4 * constants.vocoder_live_maps}
    return MediaFit(
        kind=SPEECH,
        family=family,
        components=tuple(components),
        activations=activations,
        runtime_bytes=accelerators.runtimes()["cpu"].bytes,
        setting=f"{seconds} s at {rate:,} Hz",
        tensors=tuple(tensors),
    )


def _config(folder: Path) -> dict[str, Any]:
    """A component's config (config.json, or scheduler_config.json), {} when it has none."""
    for name in ("config.json", "scheduler_config.json"):
        if (folder / name).is_file():
            return _json(folder / name)
    return {}


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object")
    return data
