"""Options several commands share, defined once so they read and behave the same."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from airlock.findings import Severity


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (`--jobs`, `--batch`, ...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def add_report_options(
    parser: argparse.ArgumentParser, formats: tuple[str, ...], format_help: str
) -> None:
    """`--format`, `--output` and `--fail-on`, as `airlock scan` defines them."""
    parser.add_argument("-f", "--format", choices=formats, default=formats[0], help=format_help)
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout"
    )
    parser.add_argument(
        "--fail-on",
        choices=[s.label for s in sorted(Severity, reverse=True)],
        default=Severity.HIGH.label,
        help="lowest severity that makes the exit code 1 (default: high)",
    )


def text_style(output: str | None) -> tuple[bool, int]:
    """(color, width) for a text report: colour and the terminal's width only on a terminal."""
    to_terminal = output is None and sys.stdout.isatty()
    color = to_terminal and not os.environ.get("NO_COLOR")
    import shutil  # only for text on a terminal (shutil imports bz2 and lzma)

    width = shutil.get_terminal_size((100, 24)).columns if to_terminal else 100
    return color, width


def emit(rendered: str, output: str | None) -> None:
    """Write a report to stdout, or to `output` (OSError is the caller's to report)."""
    if output is None:
        sys.stdout.write(rendered)
        sys.stdout.flush()
    else:
        Path(output).write_text(rendered, encoding="utf-8")
