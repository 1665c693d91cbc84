"""`airlock bom`: an AI bill of materials (CycloneDX 1.6 ML-BOM) for one model version."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import write_report

_DESCRIPTION = """\
Write a CycloneDX 1.6 ML-BOM for a model: a machine-learning-model component with the
sha256 of every file, the licenses `airlock license` finds, and a model card with what the
folder tells (task, architecture, datasets, limitations). The BOM is validated against the
CycloneDX 1.6 schema before it is written."""

_EPILOG = """\
what goes in:
  files     one `file` component per file, with its sha256 (links that leave the
            folder are not followed: they are named on stderr and left out)
  licenses  SPDX ids where there is one, else the license's name and URL
  purl      pkg:huggingface/<org>/<name>@<revision> for a Hugging Face cache snapshot
            (a cache repository models--org--name means the snapshot refs/main names)
  modelCard task (README `pipeline_tag`), architectureFamily and modelArchitecture
            (config.json `model_type`, `architectures`), datasets (README `datasets`),
            technicalLimitations (the README's Limitations section)

exit codes:
  0  BOM written
  2  usage error: a PATH that does not exist, a file that cannot be read, or an
     --output that cannot be written

examples:
  airlock bom ./some-model/ --output some-model.cdx.json
  airlock bom ~/.cache/huggingface/hub/models--org--name | jq '.components[0].purl'
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "bom",
        help="an AI bill of materials (CycloneDX 1.6 ML-BOM) for a model",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="a model folder, file or cache repository")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the BOM to FILE instead of stdout"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from airlock.artifact import ArtifactError
    from airlock.provenance.bom import build_bom
    from airlock.provenance.errors import ProvenanceError

    try:
        built = build_bom(Path(args.path))
    except (ProvenanceError, ArtifactError) as exc:
        print_error(str(exc))
        return USAGE_ERROR
    for link in built.manifest.links_out:
        print(f"airlock: not followed (link leaves the folder): {link}", file=sys.stderr)
    return 0 if write_report(built.json, args.output) else USAGE_ERROR
