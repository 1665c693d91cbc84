"""A rich console that renders into a string, shared by every text report."""

from __future__ import annotations

import io

from rich.console import Console


def string_console(*, color: bool, width: int) -> tuple[Console, io.StringIO]:
    """A console writing to a buffer; `color` only when the output is a terminal."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        width=width,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )
    return console, buffer


def rendered(buffer: io.StringIO) -> str:
    """The buffer's text without the trailing blanks tables pad lines with (noise in CI logs)."""
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
