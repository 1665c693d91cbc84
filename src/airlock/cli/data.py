"""`airlock data check`: is this data fit to evaluate, fine-tune or ground a model with?"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import add_report_options, float_range, int_range, write_report

if TYPE_CHECKING:
    from airlock.datacheck.check import CheckOptions
    from airlock.datacheck.report import DataReport
    from airlock.datacheck.tokens import ModelTokenizer

FAILED = 1

_DESCRIPTION = """\
Check data files before a model is judged, fine-tuned or grounded with them: schema
errors (with file and line), empty and over-long records, exact and near duplicates,
train/test leakage, personal data and secrets (reported by place and kind, never
printed), label balance, lengths and writing systems."""

_EPILOG = """\
what is read (docs/data-check.md):
  JSONL (.jsonl, .ndjson)  one JSON object per line; the eval formats are recognised from
                       the first record and every record is checked against them:
                       retrieval {query, positives, negatives?}, generation
                       {messages | prompt, reference | choices + answer | schema},
                       transcription manifests {audio_filepath | audio, text}
  CSV, TSV             a header row, then one record per row
  Parquet              read a batch of rows at a time
  .json                one record, or one per item of an array
  a BEIR folder        corpus.jsonl, queries.jsonl, qrels/*.tsv (ids cross-checked)
  other files          UTF-8 text: one record per file; binary files are reported
  a folder             every file in it (hidden ones skipped), each as above

severities:
  high    personal data, secrets, schema errors
  medium  exact duplicates, leakage, empty and over-long records, files not read
  low     near duplicates, label imbalance

exit codes:
  0  no finding at or above --fail-on (default: high)
  1  at least one finding at or above --fail-on
  2  usage error, no records at all, or data that cannot be read (the file and line
     are named)

examples:
  airlock data check train.jsonl
  airlock data check test.jsonl --against train.jsonl        # train/test leakage
  airlock data check support-faq/ --model all-minilm-l6-v2   # over-long records
  airlock data check tickets.csv --fail-on medium --format json -o data-check.json
  airlock data check corpus/ --near-threshold 0.9 --max-pairs 50
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "data",
        help="check data files: duplicates, leakage, personal data, schema",
        description="Commands for the data an organization evaluates, fine-tunes or grounds "
        "models with.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  airlock data check train.jsonl --against test.jsonl",
    )
    sub = parser.add_subparsers(dest="data_command", metavar="COMMAND", required=True)
    check = sub.add_parser(
        "check",
        help="check data files before a model is judged or trained with them",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="data files or folders")
    check.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="OTHER",
        help="another split (train data, say) to look for leakage in: records of PATH also in "
        "OTHER, exactly or nearly; may be given more than once",
    )
    check.add_argument(
        "--model",
        metavar="NAME",
        help="an admitted model: count tokens with its tokenizer (from its hash-verified "
        "files) and report records longer than its context window",
    )
    check.add_argument(
        "--max-tokens",
        type=int_range(1, 100_000_000),
        metavar="N",
        help="the context window to check against, 1 to 100,000,000 (default: the one the "
        "model's files state); needs --model",
    )
    check.add_argument(
        "--near-threshold",
        type=float_range(0.5, 1.0),
        default=0.8,
        metavar="X",
        help="how similar records must be to count as near duplicates: estimated Jaccard "
        "similarity of their word 3-grams, above 0.5 and at most 1 (default: 0.8)",
    )
    check.add_argument(
        "--max-pairs",
        type=int_range(1, 100_000),
        default=20,
        metavar="N",
        help="examples listed per finding rule, duplicate and leak pairs included, 1 to "
        "100,000 (default: 20); the counts are always complete",
    )
    add_report_options(check, ("text", "json"), "text for people (default), json for pipelines")
    check.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)"
    )
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from airlock.datacheck.errors import DataError
    from airlock.findings import Severity

    fail_on = Severity.parse(args.fail_on)
    if args.max_tokens is not None and args.model is None:
        print_error("--max-tokens needs --model (the tokenizer that counts the tokens)")
        return USAGE_ERROR
    try:
        from airlock.datacheck.check import CheckOptions  # numpy: the `data` extra

        tokenizer = _tokenizer(args.model, args.max_tokens) if args.model else None
        report = _check(args, CheckOptions(args.near_threshold, args.max_pairs, tokenizer))
    except DataError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    except _RegistryUnavailable:
        return USAGE_ERROR
    except ImportError as exc:
        print_error(f"airlock data check needs {exc.name}, which is not installed")
        return USAGE_ERROR
    if args.format == "json":
        rendered = json.dumps(report.to_dict(fail_on), indent=2, ensure_ascii=False) + "\n"
    else:
        from airlock.report.datacheck.text import render_data_text

        rendered = render_data_text(report, fail_on)
    if not write_report(rendered, args.output):
        return USAGE_ERROR
    if report.failed(fail_on):
        return FAILED
    if report.records == 0:  # a gate that passes an empty file would pass anything
        print_error(f"no records to check in {', '.join(args.paths)}")
        return USAGE_ERROR
    return 0


class _RegistryUnavailable(Exception):
    """open_registry has already said why."""


def _tokenizer(model: str, max_tokens: int | None) -> ModelTokenizer:
    """The tokenizer of an admitted model, from the registry's hash-verified files."""
    from airlock.cli.registry_access import open_registry
    from airlock.datacheck.tokens import admitted_tokenizer
    from airlock.gateway.registry_catalog import RegistryCatalog

    registry = open_registry()
    if registry is None:
        raise _RegistryUnavailable
    try:
        return admitted_tokenizer(model, RegistryCatalog(registry), max_tokens)
    finally:
        registry.close()


def _check(args: argparse.Namespace, options: CheckOptions) -> DataReport:
    from airlock.datacheck.check import run

    if args.no_progress or not sys.stderr.isatty():
        return run(args.paths, args.against, options)
    from airlock.cli.progress import RecordProgress  # rich loads only for a terminal

    with RecordProgress() as progress:
        return run(args.paths, args.against, options, progress)
