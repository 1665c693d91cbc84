"""What kind of model an admitted version is (chat, code, embeddings, ...), for the console's
listing and filter: decided from the engine `airlock admit` recorded (engine_choice.py) and the
model's files, never from its name. One function, so every page and the admin API agree."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from airlock import engine_choice

CHAT = "chat"
CODE = "code"
EMBEDDINGS = "embeddings"
RERANK = "rerank"
TRANSCRIPTION = "transcription"
IMAGE = "image"
SPEECH = "speech"
CATEGORIES = (CHAT, CODE, EMBEDDINGS, RERANK, TRANSCRIPTION, IMAGE, SPEECH)

# Engines that serve one kind of model.
_BY_ENGINE = {
    engine_choice.EMBEDDINGS: EMBEDDINGS,
    engine_choice.RERANK: RERANK,
    engine_choice.TRANSCRIPTION: TRANSCRIPTION,
    engine_choice.IMAGES: IMAGE,
    engine_choice.SPEECH: SPEECH,
}
# A causal LM is a code model when a file says it was made for code (its architecture, as
# config.json names it, is not at hand here: the files are). Publishers ship these beside
# code models' weights; chat models do not.
_CODE_FILE_MARKERS = ("fim", "code_tokenizer")


def category(engine: str | None, files: Iterable[str]) -> str | None:
    """The category of a version served by `engine` with these manifest paths; None when no
    engine serves it (the listing says "not servable" with the recorded reason)."""
    if engine is None:
        return None
    if engine in _BY_ENGINE:
        return _BY_ENGINE[engine]
    if engine == engine_choice.CAUSAL_LM:
        names = [PurePosixPath(f).name.lower() for f in files]
        return CODE if any(m in n for n in names for m in _CODE_FILE_MARKERS) else CHAT
    return None
