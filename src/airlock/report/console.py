"""A rich console that renders into a string, shared by every text report.

A report for a terminal wraps to the terminal's width. A report written to a file or piped to
another program is never wrapped: a path or a digest broken across lines cannot be searched for,
copied or parsed, and whatever reads the pipe wraps (or does not) as it likes."""

from __future__ import annotations

import io

from rich.console import Console

# Wider than any path (PATH_MAX is 4096) or line a report prints, so nothing is folded; rich
# needs some width to lay tables out in. Renderables must not pad to it (`expand=False`).
UNWRAPPED = 1 << 14


def string_console(*, color: bool, width: int | None) -> tuple[Console, io.StringIO]:
    """A console writing to a buffer; `color` only when the output is a terminal, and `width`
    None for output that is not a terminal: then no line is wrapped."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        width=UNWRAPPED if width is None else width,
        soft_wrap=width is None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )
    return console, buffer


def rendered(buffer: io.StringIO) -> str:
    """The buffer's text without the trailing blanks tables pad lines with (noise in CI logs)."""
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
