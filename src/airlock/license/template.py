"""Reference license texts as templates: their words, and which of them may differ in a copy.

A reference text may carry SPDX license-template markup (github.com/spdx/license-list-XML,
`template/*.template.txt` in spdx/license-list-data): `<<var;name="...";original="...";
match="...">>` for text that differs from copy to copy (a copyright holder's name, a bullet)
and `<<beginOptional>>...<<endOptional>>` for text a copy may leave out. Appendices that a
publisher ships in the same file after the license (an acceptable-use policy the license
incorporates) are optional text too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airlock.license.normalize import words

# Span codes: a var's code is its index in Template.patterns; appendix k's is APPENDIX - k.
TEXT, OPTIONAL, APPENDIX = -1, -2, -3
_MARKUP = re.compile(r"<<beginOptional>>|<<endOptional>>|<<var;(.*?)>>", re.DOTALL)
_ATTRIBUTE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_OPEN, _CLOSE = "qqqspanopen", "qqqspanclose"  # sentinels: words no license text has


@dataclass(frozen=True)
class Template:
    words: tuple[str, ...]
    spans: tuple[int, ...]  # per word: TEXT, OPTIONAL, an appendix, or the index of its var
    patterns: tuple[str, ...]  # each var's `match` regex, applied to normalized words

    def plain(self) -> tuple[str, ...]:
        """The words every copy has (no optional text, no appendix)."""
        return tuple(w for w, s in zip(self.words, self.spans, strict=True) if s > OPTIONAL)


def parse(text: str, appendices: tuple[str, ...] = ()) -> Template:
    """The template of a reference text with SPDX markup, plus optional appendices after it."""
    patterns: list[str] = []
    codes: list[int] = []

    def mark(found: re.Match[str]) -> str:
        token = found.group()
        if token == "<<endOptional>>":
            return f"\n{_CLOSE}\n"
        if token == "<<beginOptional>>":
            codes.append(OPTIONAL)
            return f"\n{_OPEN}{len(codes) - 1}\n"
        attributes = dict(_ATTRIBUTE.findall(found.group(1)))
        patterns.append(attributes.get("match", ".*"))
        codes.append(len(patterns) - 1)
        return f"\n{_OPEN}{len(codes) - 1}\n{attributes.get('original', '')}\n{_CLOSE}\n"

    tokens = words(_MARKUP.sub(mark, text))
    found_words: list[str] = []
    spans: list[int] = []
    stack = [TEXT]
    for token in tokens:
        if token.startswith(_OPEN):
            stack.append(codes[int(token.removeprefix(_OPEN))])
        elif token == _CLOSE:
            stack.pop()
        else:
            found_words.append(token)
            spans.append(OPTIONAL if OPTIONAL in stack else stack[-1])
    for k, appendix in enumerate(appendices):
        extra = words(appendix)
        found_words.extend(extra)
        spans.extend([APPENDIX - k] * len(extra))
    return Template(tuple(found_words), tuple(spans), tuple(patterns))


def render(text: str) -> str:
    """A reference text as a copy would read: markup removed, vars as their original text."""

    def plain(found: re.Match[str]) -> str:
        if found.group(1) is None:
            return ""
        attributes: dict[str, str] = dict(_ATTRIBUTE.findall(found.group(1)))
        return attributes.get("original", "")

    return _MARKUP.sub(plain, text)
