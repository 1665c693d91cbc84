"""Prepacked oneDNN linears: same answers as the stock kernels, undone where they would differ."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from airlock.gateway.engines import cpu_kernels
from airlock.gateway.engines.cpu_kernels import PackedLinear, prepack_linears

from . import tiny_models
from .conftest import minilm_folder

pytestmark = pytest.mark.skipif(
    not cpu_kernels._available(), reason="this torch build has no oneDNN"
)

PROBE = torch.randn(3, 5, 16, generator=torch.Generator().manual_seed(0))


def packed(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, PackedLinear)]


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 8, bias=False))


def test_packs_plain_linears_with_identical_output() -> None:
    model = mlp()
    with torch.inference_mode():
        before = model(PROBE)
    assert prepack_linears(model, lambda: model(PROBE))
    assert len(packed(model)) == 2
    other = torch.randn(7, 16)  # a shape the probe never saw
    with torch.inference_mode():
        assert torch.allclose(model(PROBE), before, atol=1e-6)
        assert model(other).shape == (7, 8)


def test_leaves_tied_subclassed_and_non_float32_linears() -> None:
    class Lora(nn.Linear):
        pass

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 16)
            self.head = nn.Linear(16, 10, bias=False)
            self.head.weight = self.embed.weight  # tied, as in many language models
            self.lora = Lora(16, 16)
            self.wide = nn.Linear(16, 16).double()
            self.plain = nn.Linear(16, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.plain(self.lora(x)) + self.wide(x.double()).float()
            return self.head(y)

    model = Model()
    assert prepack_linears(model, lambda: model(PROBE))
    assert packed(model) == [model.plain]
    assert type(model.head) is nn.Linear and type(model.lora) is Lora


def test_undone_when_the_model_reads_weights_itself() -> None:
    class ReadsWeight(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(16, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.proj.weight.T  # fails once proj is packed

    model = ReadsWeight()
    original = model.proj
    assert not prepack_linears(model, lambda: model(PROBE))
    assert model.proj is original


def test_undone_when_the_output_changes() -> None:
    model = mlp()
    calls = iter([torch.zeros(2), torch.ones(2)])
    assert not prepack_linears(model, lambda: next(calls))
    assert packed(model) == []


def test_embeddings_engine_matches_stock_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    from airlock.gateway.engines.st_embeddings import SentenceEmbeddings

    texts = ["Airlock serves admitted models.", "short", "a third, rather longer sentence " * 5]
    stock = SentenceTransformer(str(minilm_folder()), device="cpu")
    want = stock.encode(texts, convert_to_tensor=True)
    fast = SentenceEmbeddings(minilm_folder())
    plain = SentenceEmbeddings(minilm_folder(), prepack=False)
    assert len(packed(fast._model)) == 37  # 6 layers x (q, k, v, out, up, down) + the pooler
    assert packed(plain._model) == []
    got = torch.from_numpy(fast.embed(texts).vectors)
    assert torch.allclose(got, want, atol=1e-5)
    assert fast.embed(texts).tokens == plain.embed(texts).tokens


def test_rerank_engine_scores_unchanged(tmp_path: Path) -> None:
    from airlock.gateway.engines.st_rerank import CrossEncoderRerank

    folder = tiny_models.make_cross_encoder(tmp_path / "rerank")
    pairs = [("capital of france", "paris is the capital of france"), ("fox", "hello world")]
    fast = CrossEncoderRerank(folder)
    plain = CrossEncoderRerank(folder, prepack=False)
    assert packed(fast._model) and not packed(plain._model)
    fast_scores, fast_tokens = fast.rerank(pairs)
    plain_scores, plain_tokens = plain.rerank(pairs)
    assert fast_scores == pytest.approx(plain_scores, abs=1e-5)
    assert fast_tokens == plain_tokens


def test_causal_lm_generates_the_same_tokens(tmp_path: Path) -> None:
    from airlock.gateway.engines.hf_causal import CausalLM
    from airlock.gateway.engines.interface import Generation

    folder = tiny_models.make_llama(tmp_path / "llama")
    fast = CausalLM(folder)
    plain = CausalLM(folder, prepack=False)
    assert packed(fast._model) and not packed(plain._model)

    def greedy(engine: CausalLM) -> str:
        request = Generation(prompt="the quick brown fox", max_tokens=12, temperature=0.0)
        return "".join(engine.generate(request).pieces)

    assert greedy(fast) == greedy(plain)


def test_models_above_the_size_bound_keep_stock_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    model = mlp()
    monkeypatch.setattr(cpu_kernels, "MAX_PACKED_BYTES", 1024)  # the MLP holds 3 KiB
    assert not prepack_linears(model, lambda: model(PROBE))
    assert packed(model) == []


def test_whisper_transcribes_the_same(tmp_path: Path) -> None:
    import numpy as np

    from airlock.gateway.engines.hf_whisper import WhisperEngine
    from airlock.gateway.engines.interface import TranscriptionRequest

    folder = tiny_models.make_whisper(tmp_path / "whisper", tmp_path / "work")
    fast = WhisperEngine(folder)
    plain = WhisperEngine(folder, prepack=False)
    assert packed(fast._model) and not packed(plain._model)
    tone = np.sin(np.linspace(0, 2000, 16_000)).astype(np.float32)
    request = TranscriptionRequest(audio=tone, sample_rate=16_000, temperature=0.0)
    assert fast.transcribe(request).text == plain.transcribe(request).text
