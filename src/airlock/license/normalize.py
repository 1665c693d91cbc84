"""The words of a license text that carry its meaning, without its layout.

What never counts follows the SPDX License Matching Guidelines: case, punctuation, quotes and
dashes (any Unicode form), bullets and list or section numbering, markdown and HTML markup,
copyright notices and years. URLs count as one word each, so that a link written as markdown
or as plain text reads the same.
"""

from __future__ import annotations

import re
import unicodedata

# A copyright notice ("Copyright (c) 2024 Google LLC", "Copyright 2008, Google Inc.",
# "COPYRIGHT"), not a sentence that starts with the word ("copyright notice, this list of
# conditions ...", '"Copyright" also means ...') nor list item (c). Only at the start of a
# paragraph: a notice quoted inside a clause (Llama's attribution notice) is part of a term.
_COPYRIGHT_LINE = re.compile(r"^\W*(?:copyright\s*(?:\(c\)|©|\d|[\[{<:]|$)|\(c\)\s*\d|©)", re.I)
# A list or section marker at the start of a line, after any bullet or markdown: "1.", "1.2",
# "(a)", "iv.", "b)", "Section 3:", "§ 2". Repeated for "1. a." or "(a)(i)".
_MARKER = re.compile(
    r"^[\W_]*(?:(?:section|article|clause|part)\s+)?"
    r"(?:\(?(?:\d{1,3}(?:\.\d{1,3})*|[a-z]|[ivxlc]{1,6})[.):]|\d{1,3}(?:\.\d{1,3})+)(?=[\W_]|$)",
    re.IGNORECASE,
)
# A marker inside a line: "you shall (A) provide ... and (B) display", "(i) the power".
_INLINE_MARKER = re.compile(r"\((?:[a-z]|[ivxlc]{1,6}|\d{1,2})\)", re.IGNORECASE)
_TAG = re.compile(r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?/?>", re.IGNORECASE)
_URL = re.compile("(?:https?://|www\\.)[^\\s<>()\\[\\]\"'\u2019\u201d]+", re.IGNORECASE)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_WORD = re.compile(r"[a-z0-9]+")
_YEAR = re.compile(r"(19|20)\d\d")
_MONTH = re.compile(r"(jan|febr)uary|march|april|may|june|july|august|(septem|octo|novem|decem)ber")


def words(text: str) -> list[str]:
    """The words of `text` as compared with reference texts, in order."""
    text = unicodedata.normalize("NFKD", text.translate(_INVISIBLE))
    text = "".join(c for c in text if not unicodedata.combining(c))
    lines = []
    notice_may_follow = True  # at the start of the text or of a paragraph, or after a notice
    for line in text.splitlines():
        if notice_may_follow and _COPYRIGHT_LINE.match(line):
            continue
        notice_may_follow = not line.strip()
        for _ in range(3):
            line = _MARKER.sub(" ", line, count=1)
        lines.append(_INLINE_MARKER.sub(" ", line))
    joined = _TAG.sub(" ", " ".join(lines))
    joined = _URL.sub(lambda m: " " + _url_word(m.group()) + " ", joined)
    lowered = joined.lower().replace("licence", "license").replace("&", " and ")
    found = [w for w in _WORD.findall(lowered) if not _YEAR.fullmatch(w)]
    return [w for i, w in enumerate(found) if not _date_day(found, i)]


def _url_word(url: str) -> str:
    """A URL as one word: scheme, `www.`, punctuation and a closing slash do not count."""
    bare = re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower()).rstrip("/.,;:")
    return "url" + "".join(_WORD.findall(bare))


def _date_day(found: list[str], i: int) -> bool:
    """The day in "July 23, 2024": a release date is not a term (the year is dropped already)."""
    if not found[i].isdigit() or len(found[i]) > 2:
        return False
    around = found[max(i - 1, 0) : i] + found[i + 1 : i + 2]
    return any(_MONTH.fullmatch(w) for w in around)
