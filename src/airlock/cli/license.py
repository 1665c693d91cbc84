"""`airlock license`: which license a model carries and what it obliges the organization to do."""

from __future__ import annotations

import argparse
from typing import Any

from airlock.artifact import ArtifactError
from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import add_report_options, text_style, write_report
from airlock.findings import Severity

FAILED = 1

_DESCRIPTION = """\
Tell which license a model carries and what it obliges you to do: commercial use, user
or revenue thresholds, attribution and naming duties, use restrictions, limits on
training other models with its outputs. Nothing is loaded; weights are never read."""

_EPILOG = """\
what is read:
  the model card (README.md front matter: license, license_name, license_link),
  LICENSE / LICENSE.md / LICENSE.txt / LICENSE-MODEL / NOTICE / USE_POLICY.md at the top of
  the folder (texts are recognised even when reformatted or edited, with a confidence),
  GGUF `general.license` metadata, and Hugging Face cache folders (models--org--name: the
  snapshot `main` points to). SPDX expressions such as `apache-2.0 OR mit` are understood.
  Declared base models (card `base_model`, adapter_config.json, mergekit recipes, GGUF
  `general.base_model.*`, config.json `_name_or_path`): their licenses bind the model too.

answers:
  commercial_use  yes | no | conditional (a user or revenue threshold) | unknown
  An unknown or missing license is `unknown` and a high finding: never assumed permissive.
  When sources disagree (card says apache-2.0, LICENSE is the Llama 3.1 license), that
  is a high finding and the terms of all of them are taken to apply.
  A base model's license binds what is built from it: the answer combines them, each
  inherited duty names its base model, and a card license that omits one is a high finding.

exit codes:
  0  no finding at or above --fail-on (default: high)
  1  at least one finding at or above --fail-on
     (non-commercial licenses are medium: use --fail-on medium to stop on them)
  2  usage error, or a PATH that does not exist

examples:
  airlock license ./downloads/some-model/
  airlock license ~/.cache/huggingface/hub/models--meta-llama--Llama-3.1-8B
  airlock license model.gguf --format json | jq .commercial_use
  airlock license ./model --fail-on medium     # also refuse non-commercial licenses
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "license",
        help="tell which license a model carries and what it obliges you to do",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="a model folder, GGUF file or cache folder")
    add_report_options(parser, ("text", "json"), "text for people (default), json for pipelines")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no text report, only the exit code and errors"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from airlock.license import assess_path  # the knowledge base loads only when asked

    fail_on = Severity.parse(args.fail_on)
    try:
        result = assess_path(args.path)
    except ArtifactError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    quiet = args.quiet and args.format == "text" and args.output is None
    if not quiet and not write_report(
        _render(result, args.format, fail_on, args.output), args.output
    ):
        return USAGE_ERROR
    return FAILED if any(f.severity >= fail_on for f in result.findings) else 0


def _render(result: Any, fmt: str, fail_on: Severity, output: str | None) -> str:
    if fmt == "json":
        from airlock.report.license.json_doc import render_license_json

        return render_license_json(result, fail_on)
    from airlock.report.license.text import render_license_text

    color, width = text_style(output)
    return render_license_text(result, fail_on, color=color, width=width)
