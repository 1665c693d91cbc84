"""POST /v1/images/generations and /v1/images/edits with a tiny Stable Diffusion pipeline made
in the test (random weights), admitted with `airlock admit` and called with the openai client."""

from __future__ import annotations

import base64
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image

from airlock import engine_choice
from airlock.gateway.config import GatewayConfig, Upstream
from airlock.gateway.engines.diffusion import DiffusionEngine
from airlock.gateway.engines.interface import Cancelled, CancelToken, ImageRequest
from airlock.gateway.errors import TooManyRequests
from airlock.gateway.image_queue import ImageQueue

from . import tiny_media
from .conftest import Live, admit, serve

STEPS = {"num_inference_steps": 2}


@pytest.fixture(scope="module")
def pipeline(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tiny_media.make_diffusion(tmp_path_factory.mktemp("images") / "tiny-sd")
    admit(folder, "tiny-sd")
    return folder


@pytest.fixture(scope="module")
def gateway(pipeline: Path) -> Iterator[Live]:
    yield from serve(GatewayConfig(request_timeout_s=60, max_queued_images=4))


@pytest.fixture(scope="module")
def client(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("images"), max_retries=0)


def png(b64: str | None) -> Image.Image:
    assert b64 is not None
    image = Image.open(io.BytesIO(base64.b64decode(b64)), formats=["PNG"])
    image.load()
    return image


def test_the_pipeline_folder_is_served_by_diffusers(pipeline: Path) -> None:
    chosen = engine_choice.choose_engine(pipeline)
    assert chosen.engine == engine_choice.IMAGES, chosen.reason


def test_custom_component_class_is_not_served(pipeline: Path, tmp_path: Path) -> None:
    folder = tmp_path / "custom"
    shutil.copytree(pipeline, folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["unet"] = ["my_package.models", "FancyUNet"]
    (folder / "model_index.json").write_text(json.dumps(index))
    chosen = engine_choice.choose_engine(folder)
    assert chosen.engine is None and "custom code" in chosen.reason


def test_a_diffusers_pipeline_module_is_not_custom_code(pipeline: Path, tmp_path: Path) -> None:
    """Stable Diffusion 1.x/2.x folders name their safety checker by diffusers' pipeline
    module; a module outside diffusers under a name that looks alike is custom code."""
    folder = tmp_path / "with-checker"
    shutil.copytree(pipeline, folder)
    (folder / "safety_checker").mkdir()
    (folder / "safety_checker" / "model.safetensors").write_bytes(b"{}")
    index = json.loads((folder / "model_index.json").read_text())
    index["safety_checker"] = ["stable_diffusion", "StableDiffusionSafetyChecker"]
    (folder / "model_index.json").write_text(json.dumps(index))
    assert engine_choice.choose_engine(folder).engine == engine_choice.IMAGES
    index["safety_checker"] = ["stable_diffusion.evil", "Checker"]
    (folder / "model_index.json").write_text(json.dumps(index))
    assert engine_choice.choose_engine(folder).engine is None


def test_pickled_component_weights_are_not_served(pipeline: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pickled"
    shutil.copytree(pipeline, folder)
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    weights.rename(folder / "vae" / "diffusion_pytorch_model.bin")
    chosen = engine_choice.choose_engine(folder)
    assert chosen.engine is None and "'vae'" in chosen.reason


def test_same_seed_same_image(client: openai.OpenAI) -> None:
    def make(seed: int) -> bytes:
        result = client.images.generate(
            model="tiny-sd",
            prompt="a red fox in the snow",
            extra_body={"seed": seed, **STEPS},
        )
        assert result.data is not None and len(result.data) == 1
        assert result.data[0].b64_json is not None
        return base64.b64decode(result.data[0].b64_json)

    first, again, other = make(7), make(7), make(8)
    assert first == again
    assert first != other
    image = Image.open(io.BytesIO(first), formats=["PNG"])
    assert image.size == (tiny_media.IMAGE_SIDE, tiny_media.IMAGE_SIDE)
    assert image.mode == "RGB"


def test_n_images_at_a_size(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="tiny-sd",
        prompt="a lighthouse",
        n=2,
        size="48x64",  # type: ignore[arg-type]  # the client types OpenAI's own sizes
        response_format="b64_json",
        extra_body={"seed": 3, "steps": 2},
    )
    assert result.data is not None
    images = [png(d.b64_json) for d in result.data]
    assert [i.size for i in images] == [(48, 64), (48, 64)]
    # Image i is made from seed + i: the second differs from the first.
    assert images[0].tobytes() != images[1].tobytes()


def test_edit_starts_from_the_upload(client: openai.OpenAI) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 30, 30)).save(buffer, format="PNG")
    result = client.images.edit(
        model="tiny-sd",
        image=("start.png", buffer.getvalue(), "image/png"),
        prompt="the same, at night",
        extra_body={"seed": 1, "strength": 0.5, **STEPS},
    )
    assert result.data is not None
    assert png(result.data[0].b64_json).size == (tiny_media.IMAGE_SIDE, tiny_media.IMAGE_SIDE)


def bad(client: openai.OpenAI, **fields: Any) -> openai.BadRequestError:
    body = {"model": "tiny-sd", "prompt": "a cat", **fields}
    with pytest.raises(openai.BadRequestError) as error:
        client.post("/images/generations", body=body, cast_to=object)
    return error.value


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 10_000}, "prompt"),
        ({"size": "1000x1000"}, "size"),  # above twice the native 32
        ({"size": "30x32"}, "size"),  # not a multiple of 8
        ({"size": "large"}, "size"),
        ({"response_format": "url"}, "response_format"),
        ({"n": 5}, "n"),
        ({"num_inference_steps": 0}, "num_inference_steps"),
        ({"style": "vivid"}, "style"),
        ({"output_format": "jpeg"}, "output_format"),
    ],
)
def test_bad_requests_name_the_field(
    client: openai.OpenAI, fields: dict[str, Any], param: str
) -> None:
    assert bad(client, **fields).param == param


def test_url_answer_is_refused_with_a_reason(client: openai.OpenAI) -> None:
    assert "hosts no files" in bad(client, response_format="url").message


def test_unreadable_upload_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        client.images.edit(
            model="tiny-sd", image=("x.png", b"not an image", "image/png"), prompt="a cat"
        )
    assert error.value.param == "image"


def test_the_image_queue_is_bounded() -> None:
    queue = ImageQueue(limit=4)
    with queue.hold(3):
        with pytest.raises(TooManyRequests) as error, queue.hold(2):
            pass
        assert error.value.code == "image_queue_full"
        with queue.hold(1):
            assert queue.held == 4
    assert queue.held == 0


@pytest.fixture(scope="module")
def front(gateway: Live) -> Iterator[Live]:
    """A second gateway that relays tiny-sd to the first, as it would to vLLM-Omni."""
    upstreams = (Upstream("tiny-sd", gateway.url, gateway.key("images-front")),)
    yield from serve(GatewayConfig(upstreams=upstreams))


def test_generation_and_edit_through_an_upstream(front: Live, client: openai.OpenAI) -> None:
    relayed = openai.OpenAI(base_url=front.url, api_key=front.key("images-app"), max_retries=0)
    asked: dict[str, Any] = {"model": "tiny-sd", "prompt": "a boat", "extra_body": {"seed": 5}}
    through = relayed.images.generate(**asked)
    direct = client.images.generate(**asked)
    assert through.data is not None and direct.data is not None
    assert through.data[0].b64_json == direct.data[0].b64_json
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 90, 200)).save(buffer, format="PNG")
    edited = relayed.images.edit(
        model="tiny-sd",
        image=("start.png", buffer.getvalue(), "image/png"),
        prompt="a boat at sea",
        extra_body={"seed": 2, **STEPS},
    )
    assert edited.data is not None
    assert png(edited.data[0].b64_json).size == (tiny_media.IMAGE_SIDE, tiny_media.IMAGE_SIDE)


class StopAfter(CancelToken):
    """A token that is set once `steps` checks have passed: as if the timeout fell there."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.left = steps
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        self.left -= 1
        if self.left < 0:
            self.set()
        super().check()


def test_a_given_up_request_stops_at_the_next_step(pipeline: Path) -> None:
    engine = DiffusionEngine(pipeline)
    try:
        token = StopAfter(3)
        with pytest.raises(Cancelled):
            engine.generate_images(ImageRequest("a cat", steps=50, seed=1, cancel=token))
        assert token.checks == 4  # one before the pipeline, then one per step: 47 never ran
    finally:
        engine.close()
