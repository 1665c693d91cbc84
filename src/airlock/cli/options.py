"""Options several commands share, defined once so they read and behave the same."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

from airlock.cli.errors import print_error
from airlock.findings import Severity


def int_range(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, else argparse's one-line usage
    error naming the option and the range, before the command runs."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low:,} to {high:,}, got {text!r}"
            )
        return value

    return parse


def float_range(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number above `low` (exclusive: 0 means "positive") and at most
    `high`; nan and infinity are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low < value <= high):
            raise argparse.ArgumentTypeError(
                f"expected a number above {_plain(low)} and at most {_plain(high)}, got {text!r}"
            )
        return value

    return parse


_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(high_seconds: float) -> Callable[[str], float]:
    """An argparse type: a time in seconds (`90`, `90s`, `2m`, `1.5h`, `7d`), above 0 and at most
    `high_seconds`."""

    def parse(text: str) -> float:
        number = text.strip().lower()
        unit = number[-1:] if number[-1:] in _DURATION_UNITS else ""
        try:
            value = float(number[: len(number) - len(unit)]) * _DURATION_UNITS[unit]
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= high_seconds):
            raise argparse.ArgumentTypeError(
                f"expected a time above 0 and at most {_plain(high_seconds)} seconds "
                f"(e.g. 90, 90s, 2m), got {text!r}"
            )
        return value

    return parse


def _plain(number: float) -> str:
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,}"


# One port number: 0 would mean "any free port", which nobody could then connect to.
port = int_range(1, 65535)
# Processes or threads to work with: more than this costs more than it saves, and each
# takes open files (pipes), which a larger number runs out of.
jobs = int_range(1, 256)


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


def text_style(output: str | None) -> tuple[bool, int | None]:
    """(color, width) for a text report: colour and the terminal's width only on a terminal;
    width None (never wrap) for a file or a pipe, so no path is broken across lines."""
    to_terminal = output is None and sys.stdout.isatty()
    color = to_terminal and not os.environ.get("NO_COLOR")
    if not to_terminal:
        return color, None
    import shutil  # only for text on a terminal (shutil imports bz2 and lzma)

    return color, shutil.get_terminal_size((100, 24)).columns


def write_report(rendered: str, output: str | None) -> bool:
    """Write a report to stdout, or to `output`; False after one line saying why it could
    not be written (the caller exits 2)."""
    try:
        if output is None:
            sys.stdout.write(rendered)
            sys.stdout.flush()
        else:
            Path(output).write_text(rendered, encoding="utf-8")
    except OSError as exc:
        print_error(f"cannot write {output or 'the report'}: {exc.strerror or exc}")
        return False
    return True
