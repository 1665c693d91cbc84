"""Options several commands share, defined once so they read and behave the same."""

from __future__ import annotations

import argparse

from airlock.findings import Severity


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
