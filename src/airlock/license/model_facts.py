"""What a model folder says about its tokenizer and architecture, read without loading anything:
config.json, tokenizer_config.json, special_tokens_map.json, tokenizer.json and the metadata of
GGUF files (never their weights). The facts a model family is recognised by."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airlock import artifact
from airlock.artifact import ArtifactError
from airlock.headers.gguf_index import VOCABULARY, GgufError, read_index

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_TOKENIZER_JSON_BYTES = 64 * 1024 * 1024  # a Gemma 3 tokenizer.json is about 33 MB
# config.json keys compared with a family's characteristic values, and the GGUF keys
# (`<arch>.` + suffix) that hold the same value (GGUF spec, gguf-py constants).
CONFIG_KEYS = {
    "max_position_embeddings": "context_length",
    "rope_theta": "rope.freq_base",
    "num_key_value_heads": "attention.head_count_kv",
    "rms_norm_eps": "attention.layer_norm_rms_epsilon",
    "hidden_size": "embedding_length",
    "num_hidden_layers": "block_count",
}
_SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token", "additional_special_tokens")


@dataclass(frozen=True)
class ModelFacts:
    """Each fact with the file that states it (the first file that does); filled by
    `read_facts`, read-only after."""

    token_ids: dict[str, tuple[int, str]] = field(default_factory=dict)  # token -> (id, file)
    tokens: dict[str, str] = field(default_factory=dict)  # special tokens named without an id
    pre: dict[str, str] = field(default_factory=dict)  # GGUF tokenizer.ggml.pre
    vocab_sizes: dict[int, str] = field(default_factory=dict)
    architectures: dict[str, str] = field(default_factory=dict)  # config.json `architectures`
    model_types: dict[str, str] = field(default_factory=dict)  # config.json `model_type`
    gguf_architectures: dict[str, str] = field(default_factory=dict)
    config: dict[str, tuple[float, str]] = field(default_factory=dict)  # CONFIG_KEYS values


def read_facts(root: Path, wanted_tokens: Collection[str] = ()) -> ModelFacts:
    """The facts in `root` (a model folder or a single GGUF file); `wanted_tokens`: the special
    tokens whose ids to look up in GGUF vocabularies. Unreadable files add nothing."""
    facts = ModelFacts()
    files = _top_level_files(root)
    by_name = {path.name.lower(): path for path in files}
    if "config.json" in by_name:
        _config(facts, _json(by_name["config.json"], MAX_JSON_BYTES), "config.json")
    if "tokenizer_config.json" in by_name:
        document = _json(by_name["tokenizer_config.json"], MAX_JSON_BYTES)
        _tokenizer_config(facts, document, "tokenizer_config.json")
    if "special_tokens_map.json" in by_name:
        document = _json(by_name["special_tokens_map.json"], MAX_JSON_BYTES)
        _named_specials(facts, document, "special_tokens_map.json")
    # tokenizer.json is large: read it only for what the smaller files did not say.
    if "tokenizer.json" in by_name and (not facts.token_ids or not facts.vocab_sizes):
        document = _json(by_name["tokenizer.json"], MAX_TOKENIZER_JSON_BYTES)
        _tokenizer_json(facts, document, "tokenizer.json")
    wanted = tuple(wanted_tokens)
    for path in sorted(p for p in files if p.suffix.lower() == ".gguf"):
        # Quantizations of one model repeat the vocabulary: walk it in the first file only.
        if _gguf(facts, path, wanted):
            wanted = ()
    return facts


def _top_level_files(root: Path) -> list[Path]:
    """Regular files directly in `root` (or `root` itself), links out of the folder skipped."""
    try:
        found = artifact.collect([root])
    except ArtifactError:
        return []
    top = root if root.is_dir() else root.parent
    return [f.path for f in found if not f.escapes_root and f.path.parent == top]


def _json(path: Path, limit: int) -> Any:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        return None if len(data) > limit else json.loads(data)
    except (OSError, ValueError, RecursionError):
        return None


def _config(facts: ModelFacts, document: Any, where: str) -> None:
    if not isinstance(document, dict):
        return
    for name in document.get("architectures") or ():
        if isinstance(name, str):
            facts.architectures.setdefault(name, where)
    # Multimodal configs keep the language model's values in `text_config`.
    for part in (document, document.get("text_config")):
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("model_type"), str):
            facts.model_types.setdefault(part["model_type"], where)
        _vocab(facts, part.get("vocab_size"), where)
        rope = part.get("rope_parameters")  # where transformers 5 keeps rope_theta
        values = {**part, **(rope if isinstance(rope, dict) else {})}
        for key in CONFIG_KEYS:
            _config_value(facts, key, values.get(key), where)


def _tokenizer_config(facts: ModelFacts, document: Any, where: str) -> None:
    if not isinstance(document, dict):
        return
    decoder = document.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        for key, entry in decoder.items():
            if isinstance(entry, dict) and str(key).isdigit():
                _token(facts, entry.get("content"), int(key), where)
    _named_specials(facts, document, where)


def _named_specials(facts: ModelFacts, document: Any, where: str) -> None:
    """bos/eos/unk/pad and additional special tokens, as strings or {"content": ...}."""
    if not isinstance(document, dict):
        return
    for key in _SPECIAL_KEYS:
        value = document.get(key)
        for item in value if isinstance(value, list) else [value]:
            content = item.get("content") if isinstance(item, dict) else item
            if isinstance(content, str) and content not in facts.token_ids:
                facts.tokens.setdefault(content, where)


def _tokenizer_json(facts: ModelFacts, document: Any, where: str) -> None:
    if not isinstance(document, dict):
        return
    added = [a for a in document.get("added_tokens") or () if isinstance(a, dict)]
    for entry in added:
        if isinstance(entry.get("id"), int):
            _token(facts, entry.get("content"), entry["id"], where)
    model = document.get("model")
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if isinstance(vocab, dict | list) and vocab:
        ids = set(vocab.values()) if isinstance(vocab, dict) else set(range(len(vocab)))
        extra = {a["id"] for a in added if isinstance(a.get("id"), int)} - ids
        _vocab(facts, len(vocab) + len(extra), where)


def _gguf(facts: ModelFacts, path: Path, wanted: tuple[str, ...]) -> bool:
    """Adds the file's facts; True when it holds a vocabulary."""
    try:
        index = read_index(path, wanted)
    except (GgufError, OSError):
        return False
    where = path.name
    metadata = index.metadata
    arch = metadata.get("general.architecture")
    if isinstance(arch, str):
        facts.gguf_architectures.setdefault(arch, where)
        _vocab(facts, metadata.get(f"{arch}.vocab_size"), where)
        for key, suffix in CONFIG_KEYS.items():
            _config_value(facts, key, metadata.get(f"{arch}.{suffix}"), where)
    pre = metadata.get("tokenizer.ggml.pre")
    if isinstance(pre, str):
        facts.pre.setdefault(pre, where)
    for token, token_id in index.token_ids.items():
        _token(facts, token, token_id, where)
    if VOCABULARY not in index.lengths:
        return False
    _vocab(facts, index.lengths[VOCABULARY], where)
    return True


def _token(facts: ModelFacts, content: object, token_id: int, where: str) -> None:
    if isinstance(content, str):
        facts.token_ids.setdefault(content, (token_id, where))
        facts.tokens.pop(content, None)


def _vocab(facts: ModelFacts, size: object, where: str) -> None:
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        facts.vocab_sizes.setdefault(size, where)


def _config_value(facts: ModelFacts, key: str, value: object, where: str) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        facts.config.setdefault(key, (float(value), where))
