"""Write src/airlock/data/confusables.toml: the rows of Unicode's confusables.txt that model names
need (airlock/registry/names.py).

Usage: `.venv/bin/python tools/confusables_subset.py confusables.txt`, with the file from
https://www.unicode.org/Public/security/latest/confusables.txt (UTS #39).

Kept: rows whose source character is unchanged by NFKD (names are NFKC-normalized before their
skeleton is taken, and NFD after NFKC is NFKD, so no other source can occur) and whose
prototype uses only characters a model name may hold. A new name is plain ASCII, so it can
only look like an existing name through these rows; the rest of the table maps to prototypes
no name can have.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
TARGET = Path(__file__).resolve().parents[1] / "src" / "airlock" / "data" / "confusables.toml"


def rows(text: str) -> list[tuple[str, str]]:
    kept = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 3:
            continue
        source = "".join(chr(int(cp, 16)) for cp in fields[0].split())
        prototype = "".join(chr(int(cp, 16)) for cp in fields[1].split())
        if unicodedata.normalize("NFKD", source) == source and set(prototype) <= NAME_CHARACTERS:
            kept.append((source, prototype))
    return sorted(kept)


def version(text: str) -> tuple[str, str]:
    """The upstream file's version and date, for the provenance comment."""
    found = dict.fromkeys(("Version", "Date"), "?")
    for line in text.splitlines()[:12]:
        key, _, value = line.lstrip("\ufeff# ").partition(": ")
        if key in found:
            found[key] = value.strip()
    return found["Version"], found["Date"]


def escape(text: str) -> str:
    return "".join(f"\\u{ord(c):04X}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08X}" for c in text)


def render(text: str) -> str:
    number, date = version(text)
    lines = [
        "# Characters that look like the ASCII characters a model name may hold, each mapped to",
        "# its prototype: the rows of Unicode's confusables.txt (UTS #39, Unicode Security",
        "# Mechanisms) whose source character is unchanged by NFKD and whose prototype uses only",
        "# ASCII letters, digits, '-', '_' and '.'.",
        f"# Source: https://www.unicode.org/Public/security/{number}/confusables.txt ({date})",
        "# Written by tools/confusables_subset.py; read by airlock/registry/names.py.",
        "",
        "[prototype]",
    ]
    for source, prototype in rows(text):
        name = unicodedata.name(source, f"U+{ord(source):04X}")
        lines.append(f'"{escape(source)}" = "{prototype}"  # {name}')
    return "\n".join(lines) + "\n"


def main() -> None:
    text = Path(sys.argv[1]).read_text(encoding="utf-8")
    TARGET.write_text(render(text), encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
