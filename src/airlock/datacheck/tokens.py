"""Token counts with an admitted model's own tokenizer, and the context window it must fit.

Only a model admitted to the registry can be named, and only its tokenizer and config files
are read, from a private copy whose bytes were hashed against the admitted manifest as they
were copied (gateway.loading.verified_copy): the same guarantee the gateway gives when it
loads the model. No weights are copied or loaded; nothing is read from any other folder."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from airlock.datacheck.errors import DataError
from airlock.datacheck.knowledge import load
from airlock.gateway.catalog import ModelCatalog
from airlock.gateway.loading import CopyTimeout, IntegrityError, verified_copy
from airlock.suggest import did_you_mean

# Files that define a tokenizer by themselves (the others only configure one).
_DEFINING = frozenset(
    {"tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model"}
    | {"sentencepiece.bpe.model"}
)
# Tokenizers say 1e30 for "no limit"; a real window is far below this.
_MAX_SANE = 10**8


@dataclass(frozen=True)
class ModelTokenizer:
    model: str
    limit: int  # the context window, in tokens
    limit_source: str  # where the limit was read ("config.json max_position_embeddings")
    count: Callable[[list[str]], list[int]]  # tokens of each text, special tokens included


def admitted_tokenizer(name: str, catalog: ModelCatalog, max_tokens: int | None) -> ModelTokenizer:
    """The tokenizer of admitted model `name`; `max_tokens` overrides its context window."""
    model = catalog.get(name)
    if model is None:
        names = catalog.names()
        hint = did_you_mean(name, names) or (
            f" (admitted: {', '.join(names)})" if names else " (no model is admitted yet)"
        )
        raise DataError(f"--model {name}", f"not an admitted model{hint}")
    if model.suspended:  # its files are not to be loaded, a tokenizer's included
        raise DataError(f"--model {name}", f"the model is {model.not_servable}")
    wanted = frozenset(load("tokenizer.toml")["files"])
    files = tuple(
        f for f in model.files if f.path in wanted
    )  # the model folder's own, not a subfolder's
    if not any(f.path in _DEFINING for f in files):
        raise DataError(f"--model {name}", "the admitted files include no tokenizer")
    with tempfile.TemporaryDirectory(prefix="airlock-tokenizer-") as scratch:
        try:
            copy = verified_copy(replace(model, files=files), Path(scratch))
        except (IntegrityError, CopyTimeout) as exc:
            raise DataError(f"--model {name}", str(exc)) from None
        count = _load(copy.path, name)
        found = (max_tokens, "--max-tokens") if max_tokens else _context(copy.path)
    if found is None:
        raise DataError(
            f"--model {name}", "its files state no context window; give one with --max-tokens"
        )
    return ModelTokenizer(name, found[0], found[1], count)


def _load(folder: Path, name: str) -> Callable[[list[str]], list[int]]:
    try:
        if (folder / "tokenizer.json").is_file():
            return _fast(folder / "tokenizer.json")
        return _transformers(folder)
    except ImportError as exc:
        raise DataError(
            f"--model {name}", f"counting tokens needs {exc.name}, which is not installed"
        ) from None
    except Exception as exc:  # a tokenizer file its library rejects: say so, in one line
        raise DataError(
            f"--model {name}", f"its tokenizer could not be loaded: {type(exc).__name__}: {exc}"
        ) from None


def _fast(path: Path) -> Callable[[list[str]], list[int]]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    # A saved tokenizer may truncate or pad (to its max length): counts must be of the whole text.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return lambda texts: [len(encoding.ids) for encoding in tokenizer.encode_batch(texts)]


def _transformers(folder: Path) -> Callable[[list[str]], list[int]]:
    from transformers import AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # not "sequence longer than the model": that is the finding
    tokenizer: Any = AutoTokenizer.from_pretrained(
        str(folder), local_files_only=True, trust_remote_code=False
    )
    return lambda texts: [len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]]


def _context(folder: Path) -> tuple[int, str] | None:
    for file, key in load("tokenizer.toml")["limits"]:
        path = folder / file
        if not path.is_file():
            continue
        try:
            value: Any = json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < _MAX_SANE:
            return value, f"{file} {key}"
    return None
