"""Quantized checkpoints count the model's parameters, not storage words.

The layouts (quant_layouts.py) are written the way the libraries that save them write them,
as sparse safetensors headers; the expected counts are the publishers' figures
or exact from the shapes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fit_helpers import LLAMA_31_8B, Stored, stored_bytes, write_config, write_tensors
from quant_layouts import (
    DEEPSEEK_V3,
    LLAMA_8B_PARAMETERS,
    awq_gemm,
    bnb_nf4,
    compressed_w4a16,
    fp8_block,
    gpt_oss,
    gptq,
    linear_parameters,
    mtp_layer,
    quantized,
    router_bf16,
)

from airlock.cli import main
from airlock.fit import checkpoint
from airlock.fit.estimate import FitRequest, estimate
from airlock.fit.inputs import load
from airlock.fit.params import Tensor, config_shapes, count

AWQ_CONFIG = {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm",
              "zero_point": True}  # fmt: skip


def test_awq_llama_31_8b_counts_parameters_and_stored_bytes(tmp_path: Path) -> None:
    # hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4: AutoAWQ GEMM, 4 bits, group 128,
    # zero point; embeddings, output head and norms stay fp16.
    config = {**LLAMA_31_8B, "torch_dtype": "float16", "quantization_config": AWQ_CONFIG}
    stored = quantized(config, awq_gemm)
    write_tensors(tmp_path, stored, config, shards=2)
    model = load(tmp_path)
    counts = count(model.tensors, model.contents.buffers)
    assert counts.parameters == LLAMA_8B_PARAMETERS  # not 1.98 billion storage words
    assert counts.stored_bytes == stored_bytes(stored)
    linear = linear_parameters(config)
    # 4-bit values + an fp16 scale and a 4-bit zero point per group of 128
    assert (
        counts.stored_bytes
        == (LLAMA_8B_PARAMETERS - linear) * 2 + linear * (4 + 16 / 128 + 4 / 128) / 8
    )
    assert counts.by_dtype == {"AWQ-INT4": linear, "F16": LLAMA_8B_PARAMETERS - linear}
    quant = model.contents.quantization
    assert quant is not None and model.contents.doubts == ()
    assert (quant.method, quant.layout, quant.bits, quant.group_size) == ("awq", "awq-gemm", 4, 128)
    assert (quant.found_in, quant.tensors) == ("config.json", 32 * 7)
    assert quant.settings == {"version": "gemm", "zero_point": True}
    # the unpacked shapes are the model's own: [out, in]
    assert {t.name: t.shape for t in model.tensors} == dict(config_shapes(config))


def test_gptq_from_quantize_config_json(tmp_path: Path) -> None:
    # AutoGPTQ exports keep the scheme in quantize_config.json, not config.json
    write_tensors(tmp_path, quantized(LLAMA_31_8B, gptq), LLAMA_31_8B)
    write_config(tmp_path, LLAMA_31_8B)
    (tmp_path / "quantize_config.json").write_text(
        '{"bits": 4, "group_size": 128, "desc_act": true}'
    )
    model = load(tmp_path)
    assert count(model.tensors).parameters == LLAMA_8B_PARAMETERS
    quant = model.contents.quantization
    assert quant is not None and model.contents.doubts == ()
    assert (quant.method, quant.layout, quant.found_in) == ("gptq", "gptq", "quantize_config.json")
    assert quant.settings == {"desc_act": True}


def test_gptq_3_bit_widths_come_from_the_shapes(tmp_path: Path) -> None:
    # 3 bits do not divide a 32-bit word: in*3/32 words per column, the g_idx says `in`
    config = {**LLAMA_31_8B, "quantization_config": {"quant_method": "gptq", "bits": 3}}
    stored = quantized(config, lambda p, o, i: gptq(p, o, i, bits=3))
    write_tensors(tmp_path, stored, config)
    model = load(tmp_path)
    assert count(model.tensors).parameters == LLAMA_8B_PARAMETERS
    assert (
        model.contents.doubts == ()
        and model.contents.quantization
        and model.contents.quantization.bits == 3
    )


def test_config_and_tensors_disagree_on_bits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {**LLAMA_31_8B, "quantization_config": {"quant_method": "gptq", "bits": 4}}
    write_tensors(tmp_path, quantized(config, lambda p, o, i: gptq(p, o, i, bits=8)), config)
    model = load(tmp_path)
    assert count(model.tensors).parameters == LLAMA_8B_PARAMETERS  # the shapes are used
    doubt = (
        "quantization_config says 4 bits per weight, but the tensor shapes hold 8-bit "
        "values (the shapes are used)"
    )
    assert model.contents.doubts == (doubt,)
    assert main(["fit", str(tmp_path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters_uncertain"] == [doubt] and data["quantization"]["bits"] == 8
    assert main(["fit", str(tmp_path)]) == 0
    assert f"count uncertain {doubt}" in " ".join(capsys.readouterr().out.split())


def test_scheme_recognised_from_tensor_names_without_config(tmp_path: Path) -> None:
    write_tensors(tmp_path / "gptq", quantized(LLAMA_31_8B, gptq), None)
    write_tensors(tmp_path / "awq", quantized(LLAMA_31_8B, awq_gemm), None)
    for kind in ("gptq", "awq"):
        model = load(tmp_path / kind)
        assert count(model.tensors).parameters == LLAMA_8B_PARAMETERS
        assert (
            model.contents.quantization is not None
            and model.contents.quantization.found_in == "tensor names"
        )
        assert model.contents.quantization.method == kind and model.contents.doubts == ()


def test_unknown_scheme_is_uncertain(tmp_path: Path) -> None:
    config = {**LLAMA_31_8B, "quantization_config": {"quant_method": "hqq", "nbits": 4}}
    stored = quantized(config, lambda p, o, i: [(f"{p}.W_q", "U8", (o * i // 2, 1))])
    write_tensors(tmp_path, stored, config)
    model = load(tmp_path)
    assert model.contents.quantization is not None and model.contents.quantization.method == "hqq"
    assert "whose storage layout Airlock does not know" in model.contents.doubts[0]
    assert "but config.json's llama architecture has 8,030,261,248" in model.contents.doubts[1]
    assert (
        len(load(tmp_path / "config.json").contents.doubts) == 1
    )  # the formula cannot see the files


def test_bitsandbytes_nf4_takes_the_architectures_shapes(tmp_path: Path) -> None:
    # transformers BitsAndBytesConfig(load_in_4bit, nf4, double quant), bf16 elsewhere
    qconfig = {"quant_method": "bitsandbytes", "load_in_4bit": True, "load_in_8bit": False,
               "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True}  # fmt: skip
    config = {**LLAMA_31_8B, "quantization_config": qconfig}
    stored = quantized(config, bnb_nf4, plain="BF16")
    write_tensors(tmp_path, stored, config)
    model = load(tmp_path)
    counts = count(model.tensors, model.contents.buffers)
    assert counts.parameters == LLAMA_8B_PARAMETERS and model.contents.doubts == ()
    assert counts.stored_bytes == stored_bytes(stored)
    assert {t.name: t.shape for t in model.tensors} == dict(config_shapes(config))
    quant = model.contents.quantization
    assert quant is not None and (quant.layout, quant.bits) == ("bnb-4bit", 4)
    assert quant.settings == {"bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True}


def test_compressed_tensors_w4a16(tmp_path: Path) -> None:
    # llm-compressor W4A16 (pack-quantized, group 128, lm_head ignored)
    qconfig = {"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups":
               {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int",
                "symmetric": True, "strategy": "group", "group_size": 128}}},
               "ignore": ["lm_head"]}  # fmt: skip
    config = {**LLAMA_31_8B, "quantization_config": qconfig}
    stored = quantized(config, compressed_w4a16, plain="BF16")
    write_tensors(tmp_path, stored, config)
    model = load(tmp_path)
    assert count(model.tensors).parameters == LLAMA_8B_PARAMETERS and model.contents.doubts == ()
    quant = model.contents.quantization
    assert quant is not None and (quant.bits, quant.group_size) == (4, 128)
    assert count(model.tensors, model.contents.buffers).stored_bytes == stored_bytes(stored)


def test_cross_check_against_the_formula(tmp_path: Path) -> None:
    # a GPTQ export that stored zero biases the bf16 model does not have
    config = {**LLAMA_31_8B, "quantization_config": {"quant_method": "gptq", "bits": 4}}

    def with_bias(prefix: str, out: int, inp: int) -> list[Stored]:
        return [*gptq(prefix, out, inp), (f"{prefix}.bias", "F16", (out,))]

    write_tensors(tmp_path, quantized(config, with_bias), config)
    model = load(tmp_path)
    assert (
        len(model.contents.doubts) == 1
        and "config.json's llama architecture has 8,030,261,248" in model.contents.doubts[0]
    )


@pytest.mark.parametrize(
    ("layers", "experts", "total", "active", "gib"),
    # gpt-oss model card (arXiv:2508.10925), Table 1: total and active parameters
    # (active leaves the input embedding out), checkpoint size
    [(24, 32, 20.91, 3.61, 12.8), (36, 128, 116.83, 5.13, 60.8)],
)
def test_gpt_oss_mxfp4(
    tmp_path: Path, layers: int, experts: int, total: float, active: float, gib: float
) -> None:
    config, stored = gpt_oss(layers, experts)
    write_tensors(tmp_path, stored, config, shards=3)
    report = estimate(tmp_path, FitRequest(gpu="h100"))
    assert round(report.counts.parameters / 1e9, 2) == total
    assert report.active_without_input_embedding is not None
    assert round(report.active_without_input_embedding / 1e9, 2) == active
    assert report.active_parameters == report.active_without_input_embedding + 201088 * 2880
    assert round(report.counts.stored_bytes / 2**30, 1) == gib
    assert report.counts.stored_bytes == stored_bytes(stored)
    quant = report.model.contents.quantization
    assert quant is not None and (quant.method, quant.bits, quant.tensors) == (
        "mxfp4",
        4,
        2 * layers,
    )
    assert report.model.contents.doubts == ()  # gpt_oss has no formula to cross-check against
    mxfp4 = next(t for t in report.model.tensors if t.name.endswith("experts.gate_up_proj"))
    assert mxfp4.shape == (experts, 5760, 2880)


def test_deepseek_v3_fp8_layers_counted_per_tensor(tmp_path: Path) -> None:
    config = {**DEEPSEEK_V3, "num_hidden_layers": 4, "first_k_dense_replace": 1}
    body = quantized(config, fp8_block, "BF16", router_bf16)
    mtp = list(mtp_layer(config, fp8_block))
    write_tensors(tmp_path, body + mtp, config, shards=4)
    model = load(tmp_path)
    # every FP8 weight is one parameter per element; its scales are bytes, not parameters
    assert {t.name: t.shape for t in model.tensors} == dict(config_shapes(config))
    for tensor in model.tensors:
        if tensor.dtype == "F8_E4M3":
            out, inp = tensor.shape
            assert tensor.nbytes == out * inp + 4 * math.ceil(out / 128) * math.ceil(inp / 128)
    assert count(model.tensors).stored_bytes == stored_bytes(body)
    assert model.contents.mtp_layers == (4,) and model.contents.doubts == ()
    assert count(model.contents.mtp).stored_bytes == stored_bytes(mtp)
    quant = model.contents.quantization
    assert quant is not None and quant.settings["weight_block_size"] == [128, 128]


def test_deepseek_v3_685b_with_the_mtp_layer() -> None:
    # DeepSeek-V3 README: "685B ... includes 671B of the Main Model weights and 14B of the
    # Multi-Token Prediction (MTP) Module weights"; layer 61 stores the embedding and head it
    # shares with the main model a second time (README_WEIGHTS.md, vLLM deepseek_mtp.py).
    stored = [
        *quantized(DEEPSEEK_V3, fp8_block, "BF16", router_bf16),
        *mtp_layer(DEEPSEEK_V3, fp8_block),
    ]
    tensors = [
        Tensor(name, shape, dtype, stored_bytes([(name, dtype, shape)]))
        for name, dtype, shape in stored
    ]
    qconfig = DEEPSEEK_V3["quantization_config"]
    contents = checkpoint.from_safetensors(tensors, DEEPSEEK_V3, qconfig, "config.json")
    body, mtp = count(contents.tensors).parameters, count(contents.mtp).parameters
    assert body == 671_026_419_200 and contents.doubts == () and contents.mtp_layers == (61,)
    assert mtp == 13_463_426_304  # exact from the shapes: "14B" rounded up
    # The repository page's 685B counts every stored element, the 41.5M block scales too.
    scales = sum(math.prod(shape) for name, _, shape in stored if name.endswith("_scale_inv"))
    assert round((body + mtp) / 1e9, 1) == 684.5 and round((body + mtp + scales) / 1e9) == 685


def test_bitsandbytes_int8(tmp_path: Path) -> None:
    # LLM.int8: int8 weights with a float32 scale per row (SCB), transformers
    # quantizer_bnb_8bit.py serialized_names: weight, SCB, weight_format
    qconfig = {"quant_method": "bitsandbytes", "load_in_8bit": True, "load_in_4bit": False}
    config = {**LLAMA_31_8B, "quantization_config": qconfig}

    def int8(prefix: str, out: int, inp: int) -> list[Stored]:
        return [
            (f"{prefix}.weight", "I8", (out, inp)),
            (f"{prefix}.SCB", "F32", (out,)),
            (f"{prefix}.weight_format", "U8", ()),
        ]

    stored = quantized(config, int8, plain="F16")
    write_tensors(tmp_path, stored, config)
    model = load(tmp_path)
    counts = count(model.tensors, model.contents.buffers)
    assert counts.parameters == LLAMA_8B_PARAMETERS and model.contents.doubts == ()
    assert counts.stored_bytes == stored_bytes(stored)
    assert (
        model.contents.quantization is not None and model.contents.quantization.layout == "bnb-8bit"
    )


def test_awq_from_an_older_quant_config_json(tmp_path: Path) -> None:
    # AutoAWQ before the transformers integration wrote quant_config.json with its own keys
    write_tensors(tmp_path, quantized(LLAMA_31_8B, awq_gemm), LLAMA_31_8B)
    (tmp_path / "quant_config.json").write_text(
        '{"zero_point": true, "q_group_size": 128, "w_bit": 4, "version": "GEMM"}'
    )
    model = load(tmp_path)
    quant = model.contents.quantization
    assert count(model.tensors).parameters == LLAMA_8B_PARAMETERS and model.contents.doubts == ()
    assert quant is not None and (quant.method, quant.bits, quant.group_size) == ("awq", 4, 128)
    assert quant.found_in == "quant_config.json"


def test_sparse_compressed_tensors_are_not_read_as_dense(tmp_path: Path) -> None:
    # 2:4 sparsity stores half the values: a layout Airlock does not unpack, so it says so
    qconfig = {"quant_method": "compressed-tensors", "format": "marlin-24"}
    config = {**LLAMA_31_8B, "quantization_config": qconfig}
    write_tensors(tmp_path, quantized(config, compressed_w4a16, plain="BF16"), config)
    assert "whose storage layout Airlock does not know" in load(tmp_path).contents.doubts[0]


def test_modelopt_nvfp4(tmp_path: Path) -> None:
    # NVIDIA ModelOpt NVFP4 as vLLM's ModelOptNvFp4LinearMethod loads it: two FP4 values per
    # byte along the input dim, an FP8 scale per 16 values, two float32 global scales
    qconfig = {"quant_method": "modelopt", "quant_algo": "NVFP4", "group_size": 16}
    config = {**LLAMA_31_8B, "quantization_config": qconfig}

    def nvfp4(prefix: str, out: int, inp: int) -> list[Stored]:
        return [
            (f"{prefix}.weight", "U8", (out, inp // 2)),
            (f"{prefix}.weight_scale", "F8_E4M3", (out, inp // 16)),
            (f"{prefix}.weight_scale_2", "F32", ()),
            (f"{prefix}.input_scale", "F32", ()),
        ]

    stored = quantized(config, nvfp4, plain="BF16")
    write_tensors(tmp_path, stored, config)
    model = load(tmp_path)
    counts = count(model.tensors, model.contents.buffers)
    assert counts.parameters == LLAMA_8B_PARAMETERS and model.contents.doubts == ()
    assert counts.stored_bytes == stored_bytes(stored)
    assert {t.name: t.shape for t in model.tensors} == dict(config_shapes(config))
