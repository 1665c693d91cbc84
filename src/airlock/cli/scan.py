"""`airlock scan`: read model files, never load them, and report what loading them would run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from airlock.artifact import ArtifactError
from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import add_report_options, jobs, text_style, write_report
from airlock.findings import Severity
from airlock.report.scan.summary import summarize
from airlock.scan.results import ScanReport
from airlock.scan.scanner import Scanner

FAILED = 1

_DESCRIPTION = """\
Tell whether loading model files would run code, by reading their bytes: nothing is
loaded, imported or executed."""

_EPILOG = """\
what is scanned:
  Every file under each PATH; folders are walked, and links that leave a folder are
  reported, not followed. Formats are recognised from content, not file names: pickles
  (including PyTorch .pt/.bin/.ckpt, joblib and NumPy files that carry them), the
  archives and compressed streams they hide in, nested at any depth, and the other model
  formats listed in docs/scan.md. Files in no model format (a README, say) are counted
  but not inspected.

severities:
  critical  loading the file runs code: do not load it
  high      it may run code, or could not be checked: review before loading
  medium    unusual for a model file, could hide a payload: review it
  low       probably harmless, worth a look
  info      for information only

exit codes:
  0  no finding at or above --fail-on (default: high)
  1  at least one finding at or above --fail-on
  2  usage error, a PATH that does not exist, or nothing scannable (no file in a
     model format was found)

examples:
  airlock scan ./downloads/some-model/
  airlock scan model.pt --fail-on medium                  # stricter gate
  airlock scan models/ --format json > airlock.json       # for pipelines
  airlock scan models/ --format sarif -o airlock.sarif    # for GitHub code scanning
  airlock scan -q model.pkl && python use_model.py        # load only after a clean scan
"""

_FORMATS = ("text", "json", "sarif")


def register(commands: Any) -> None:
    """Add `scan` to the top-level parser's subcommands (argparse's action type is private)."""
    parser = commands.add_parser(
        "scan",
        help="tell whether loading model files would run code",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="model files or folders")
    add_report_options(
        parser, _FORMATS, "text for people (default), json for pipelines, sarif for code scanning"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=jobs,
        default=None,
        metavar="N",
        help="processes to scan with, 1 to 256 (default: one per CPU core once a folder "
        "has many files)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no text report or progress, only the exit code and errors; "
        "json, sarif and --output are still written",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fail_on = Severity.parse(args.fail_on)
    show_progress = not (args.no_progress or args.quiet) and sys.stderr.isatty()
    try:
        if show_progress:
            from airlock.cli.progress import ScanProgress  # rich loads only for a terminal

            with ScanProgress() as progress:
                report = Scanner().scan_paths(
                    args.paths, on_file=progress.advance, on_start=progress.start, jobs=args.jobs
                )
        else:
            report = Scanner().scan_paths(args.paths, jobs=args.jobs)
    except ArtifactError as exc:
        print_error(str(exc))
        return USAGE_ERROR

    quiet = args.quiet and args.format == "text" and args.output is None
    if not quiet and not write_report(
        _render(report, args.format, fail_on, args.output), args.output
    ):
        return USAGE_ERROR

    summary = summarize(report, fail_on)
    if summary.failed:
        return FAILED
    if summary.nothing_scanned:
        found = "1 file" if summary.files == 1 else f"{summary.files} files"
        print_error(f"nothing to scan: found {found}, none in a model format Airlock reads")
        return USAGE_ERROR
    return 0


def _render(report: ScanReport, fmt: str, fail_on: Severity, output: str | None) -> str:
    # Each format imports its renderer on demand: rich alone costs more than a small scan.
    if fmt == "json":
        from airlock.report.scan.json_doc import render_json

        return render_json(report, fail_on)
    if fmt == "sarif":
        from airlock.report.scan.sarif import render_sarif

        return render_sarif(report, fail_on, root=Path.cwd())
    from airlock.report.scan.text import render_text

    color, width = text_style(output)
    return render_text(report, fail_on, color=color, width=width)
