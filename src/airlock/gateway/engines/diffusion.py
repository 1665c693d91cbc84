"""Images from a diffusers pipeline (Stable Diffusion 1.x/2.x/XL and the other pipelines diffusers
loads from a `model_index.json` folder), on CPU in float32.

Loaded only from the verified private copy, only from safetensors (`use_safetensors=True`),
never with code from outside diffusers and transformers: every class `model_index.json` names
must be one of those libraries' own before diffusers is asked to load the folder (a class of
another library is custom code, which `engine_choice` already refuses to serve). The request's
cancel token is checked at the end of every denoising step. Image-to-image (`/v1/images/edits`)
reuses the same components through `AutoPipelineForImage2Image.from_pipe`, where diffusers has
an image-to-image pipeline for the loaded one.
"""

from __future__ import annotations

import importlib
import inspect
import json
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from airlock.gateway.engines.interface import Capability, Engine, EngineError, ImageRequest

# Fewer than diffusers' default 50 steps: on CPU, 50 steps of a 512x512 SD 1.5 image take
# minutes; 25 with the pipelines' default schedulers keep most of the quality.
DEFAULT_STEPS = 25
MAX_STEPS = 150
_LIBRARIES = ("diffusers", "transformers")


class DiffusionEngine(Engine):
    def __init__(self, folder: Path) -> None:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
        _check_classes(index)
        from diffusers import AutoPipelineForImage2Image, DiffusionPipeline

        self._pipe: Any = DiffusionPipeline.from_pretrained(  # type: ignore[no-untyped-call]
            str(folder),
            use_safetensors=True,
            local_files_only=True,
            trust_remote_code=False,
            dtype=torch.float32,
        )
        self._pipe.set_progress_bar_config(disable=True)
        if "callback_on_step_end" not in inspect.signature(self._pipe.__call__).parameters:
            # Work that could not be stopped at a timeout would hold the model's slot.
            raise EngineError(f"{type(self._pipe).__name__} cannot be stopped between steps")
        self._edit: Any = None
        try:
            self._edit = AutoPipelineForImage2Image.from_pipe(self._pipe)
            self._edit.set_progress_bar_config(disable=True)
        except ValueError:  # diffusers has no image-to-image pipeline for this one
            pass
        scale = int(getattr(self._pipe, "vae_scale_factor", 8))
        self.native_side = _native_side(self._pipe, scale)
        # Sides the latents divide evenly at every level of the denoiser (SD checks 8).
        self.multiple = max(8, 2 * scale)
        kinds = {Capability.IMAGES} | ({Capability.IMAGE_EDITS} if self._edit else set())
        self.capabilities = frozenset(kinds)

    def check_size(self, size: tuple[int, int] | None) -> tuple[int, int]:
        """(width, height) to make; 400 `size` for one the pipeline is not made for."""
        if size is None:
            return self.native_side, self.native_side
        largest = 2 * self.native_side
        if any(side % self.multiple or not self.multiple <= side <= largest for side in size):
            raise EngineError(
                f"size {size[0]}x{size[1]} is not supported by this model: each side must be a "
                f"multiple of {self.multiple} from {self.multiple} to {largest} (its native "
                f"size is {self.native_side}x{self.native_side}, also given by 'auto')",
                param="size",
            )
        return size

    def generate_images(self, request: ImageRequest) -> list[npt.NDArray[np.uint8]]:
        width, height = self.check_size(request.size)
        steps = request.steps or DEFAULT_STEPS
        if not 1 <= steps <= MAX_STEPS:
            raise EngineError(f"steps must be from 1 to {MAX_STEPS}", param="num_inference_steps")
        seed = secrets.randbits(62) if request.seed is None else request.seed
        cancel = request.cancel

        def step_end(_pipe: Any, _step: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            cancel.check()
            return tensors

        options: dict[str, Any] = {
            "prompt": request.prompt,
            "num_images_per_prompt": request.n,
            "num_inference_steps": steps,
            "generator": [torch.Generator("cpu").manual_seed(seed + i) for i in range(request.n)],
            "output_type": "np",
            "callback_on_step_end": step_end,
        }
        if request.guidance_scale is not None:
            options["guidance_scale"] = request.guidance_scale
        if request.negative_prompt:
            options["negative_prompt"] = request.negative_prompt
        pipe = self._pipe
        if request.image is None:
            options.update(width=width, height=height)
        else:
            pipe = self._image_to_image(request, steps, options, (width, height))
        cancel.check()
        with torch.inference_mode():
            images = pipe(**options).images
        return [np.asarray(np.clip(np.round(i * 255), 0, 255), dtype=np.uint8) for i in images]

    def _image_to_image(
        self, request: ImageRequest, steps: int, options: dict[str, Any], size: tuple[int, int]
    ) -> Any:
        if self._edit is None:
            raise EngineError("this model does not edit images", param="model")
        if not 0.0 < request.strength <= 1.0:
            raise EngineError("strength must be above 0 and at most 1", param="strength")
        if int(steps * request.strength) < 1:  # the steps img2img runs: none would be a no-op
            raise EngineError(
                f"strength {request.strength:g} of {steps} steps runs no step", param="strength"
            )
        from PIL import Image

        assert request.image is not None
        start = Image.fromarray(request.image).resize(size, Image.Resampling.LANCZOS)
        options.update(image=start, strength=request.strength)
        return self._edit

    def close(self) -> None:
        del self._pipe
        del self._edit


def _check_classes(index: dict[str, Any]) -> None:
    """Every class the index names is the library's own (checked before diffusers imports
    anything the index names)."""
    import diffusers
    import diffusers.pipelines

    name = index.get("_class_name")
    if not isinstance(name, str) or not isinstance(getattr(diffusers, name, None), type):
        raise EngineError(f"model_index.json names {name!r}, which is not a diffusers pipeline")
    for component, entry in index.items():
        if component.startswith("_") or not isinstance(entry, list) or entry == [None, None]:
            continue
        library, cls = [*entry, None, None][:2]
        if not isinstance(library, str) or not isinstance(cls, str):
            raise EngineError(f"component {component!r} is not [library, class]")
        if library in _LIBRARIES:
            module = importlib.import_module(library)
        elif library.isidentifier() and hasattr(diffusers.pipelines, library):
            # One of diffusers' own pipeline modules (SD's safety checker), as diffusers reads it.
            module = importlib.import_module(f"diffusers.pipelines.{library}")
        else:
            raise EngineError(f"component {component!r} is not a diffusers or transformers class")
        if not isinstance(getattr(module, cls, None), type):
            raise EngineError(f"component {component!r}: {library} has no class {cls}")


def _native_side(pipe: Any, scale: int) -> int:
    """The side, in pixels, of the square images the pipeline was trained to make."""
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    sample = getattr(getattr(denoiser, "config", None), "sample_size", None)
    if sample is None:
        sample = getattr(pipe, "default_sample_size", None)
    if isinstance(sample, list | tuple):
        sample = sample[0]
    if not isinstance(sample, int) or sample <= 0:
        raise EngineError("this pipeline does not say the size of the images it makes")
    return sample * scale
