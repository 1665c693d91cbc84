"""`airlock vet`: one verdict per model, by the organization's own policy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.artifact import ArtifactError
from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import write_report
from airlock.provenance.errors import ProvenanceError

if TYPE_CHECKING:
    from airlock.api import Vetted
    from airlock.dossier.evals import RecordedEval
    from airlock.policy.model import Policy
    from airlock.registry.store import Registry

REFUSED = 1
FORMATS = ("text", "json", "markdown", "html", "sarif")

_DESCRIPTION = """\
Vet a model for use: scan its files for code that would run on loading, identify its license
and duties, size it, hash it (and check its signature), then apply your policy. The answer is
admit, admit with conditions, or refuse, each with its reasons."""

_EPILOG = """\
policy:
  --policy FILE is a YAML file (see docs/vet.md); without it the default policy applies:
  a known license that allows commercial use, no integrity finding above low, no pickle
  copies beside safetensors weights.

eval results:
  the report lists the results `airlock eval` recorded in the registry for these exact files
  (the registry in $AIRLOCK_DATABASE_URL, or $AIRLOCK_HOME's if one was made; none is created),
  and a policy's `quality` section requires them (docs/eval.md).

exit codes:
  0  admit, or admit with conditions (the conditions are in the report)
  1  refuse
  2  usage error: a PATH that does not exist, an invalid policy file, a registry that
     cannot be read when the policy's quality requirements need it

examples:
  airlock vet ./downloads/some-model/
  airlock vet ./model --policy our-policy.yaml --format html -o verdict.html
  airlock vet ./model --format json | jq .verdict.decision
"""


class VetError(Exception):
    """What the user handed in cannot be vetted; the message is the one error line."""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "vet",
        help="one verdict per model by your policy: admit, admit with conditions, or refuse",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_vet_arguments(parser)
    parser.set_defaults(run=run)


def add_vet_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a model folder or file")
    parser.add_argument("--policy", metavar="FILE", help="policy YAML (default: the shipped one)")
    parser.add_argument(
        "--signature",
        metavar="FILE",
        help="signature bundle (default: PATH.sig beside it, or PATH/model.sig)",
    )
    parser.add_argument(
        "-f", "--format", choices=FORMATS, default="text", help="report format (default: text)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")


def vet(args: argparse.Namespace, registry: Registry | None = None) -> Vetted:
    """Raises VetError for a bad path, signature or policy, or for a registry the policy's
    quality requirements need that cannot be read. Without `registry`, the one configured is
    read if there is one (none is created)."""
    from airlock.api import vet as vet_path
    from airlock.policy.schema import PolicyError, default_policy, load_policy

    try:
        policy = load_policy(args.policy) if args.policy else default_policy()
    except PolicyError as exc:
        raise VetError(str(exc)) from None
    from airlock.provenance.signature_file import check_signature

    signature = Path(args.signature) if args.signature else None
    if signature is not None:
        try:
            check_signature(signature)  # a README given as --signature is a usage error
        except ProvenanceError as exc:
            raise VetError(str(exc)) from None
    try:
        return vet_path(
            args.path,
            policy,
            signature,
            evals=lambda digest: _recorded_evals(digest, policy, registry),
        )
    except (ArtifactError, ProvenanceError) as exc:
        raise VetError(str(exc)) from None


def _recorded_evals(
    digest: str, policy: Policy, registry: Registry | None
) -> tuple[RecordedEval, ...]:
    """The eval results recorded for these exact files. A registry that cannot be read is an
    error when the policy's quality requirements need it, else a warning."""
    from airlock.registry.configured import exists

    if registry is None and not exists():
        return ()  # no registry: nothing recorded (quality requirements find no result)
    from sqlalchemy.exc import SQLAlchemyError

    from airlock.registry.evals import for_files
    from airlock.registry.store import Registry, RegistryError

    opened = registry
    try:
        opened = opened or Registry()
        return for_files(opened, digest)
    except (RegistryError, SQLAlchemyError) as exc:
        detail = str(exc).strip().splitlines()[0]
        if opened is not None:
            detail = f"{opened.location.describe()}: {detail}"
        if policy.quality:
            raise VetError(
                f"{detail}; the policy's quality requirements need the eval results recorded there"
            ) from None
        print(f"airlock: warning: eval results not read: {detail}", file=sys.stderr)
        return ()
    finally:
        if registry is None and opened is not None:
            opened.close()


def run(args: argparse.Namespace) -> int:
    try:
        vetted = vet(args)
    except VetError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    if not write_report(render(vetted, args.format, args.output), args.output):
        return USAGE_ERROR
    return 0 if vetted.verdict.admitted else REFUSED


def render(vetted: Vetted, fmt: str, output: str | None = None) -> str:
    dossier, verdict, policy = vetted.dossier, vetted.verdict, vetted.policy
    if fmt == "json":
        from airlock.report.vet.json_doc import render_vet_json

        return render_vet_json(dossier, verdict, policy)
    if fmt == "sarif":
        from airlock.report.vet.sarif import render_vet_sarif

        return render_vet_sarif(dossier, verdict, policy, root=Path.cwd())
    from airlock.report.vet.summary import summarize_vet

    summary = summarize_vet(dossier, verdict, policy)
    if fmt == "markdown":
        from airlock.report.vet.markdown import render_vet_markdown

        return render_vet_markdown(summary)
    if fmt == "html":
        from airlock.report.vet.html import render_vet_html

        return render_vet_html(summary)
    from airlock.cli.options import text_style
    from airlock.report.vet.text import render_vet_text

    return render_vet_text(summary, text_style(output)[1])
