"""A text checked against a model's context without tokenizing all of it: a prompt of megabytes
(hundreds of thousands of tokens for a 512-token model) is refused after its beginning alone is
tokenized, in a millisecond instead of a second or more of a model thread's time."""

from __future__ import annotations

from collections.abc import Callable

# Real text averages 3-5 characters per token (BPE, WordPiece, SentencePiece): a beginning this
# many characters per token of the budget holds more tokens than the budget. Text that averages
# more (a giant word, a run of spaces) is counted whole, as before.
CHARS_PER_TOKEN = 8

_SPACES = " \n\t\r"


def head_tokens(count: Callable[[list[str]], int], parts: list[str], budget: int) -> int | None:
    """The tokens in the beginning of each of `parts` when they are more than `budget`, so that
    the whole text has more too; None when the text is short enough to count whole, or its
    beginning fits and only counting it whole can tell.

    Each part is cut between two words: tokenizers split text at spaces before anything else,
    so the beginning's tokens are the whole text's first tokens and never more than them.
    """
    chars = CHARS_PER_TOKEN * (max(budget, 0) + 1)
    if sum(len(part) for part in parts) <= chars:
        return None
    tokens = count([_beginning(part, chars) for part in parts])
    return tokens if tokens > budget else None


def _beginning(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    space = max(text.rfind(s, chars // 2, chars) for s in _SPACES)
    if space < 0:  # no space near the cut (CJK, one long word): cut at the character
        return text[:chars]
    cut = space
    while cut > 0 and text[cut - 1].isspace():  # end on the word, not inside a run of spaces
        cut -= 1
    return text[:cut]
