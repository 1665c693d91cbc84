"""`airlock hash`: a sha256 manifest of every file of a model, hashed in parallel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import jobs

_DESCRIPTION = """\
Write a manifest of every file of a model: its path, size and sha256. Files are read in
chunks (constant memory) and hashed in parallel, one file per core. Keep the manifest with
the approval: later runs tell whether any byte changed (or use `airlock sign`/`verify`)."""

_EPILOG = """\
output:
  text  one `<sha256>  <path>` line per file, paths relative to PATH: the format of
        sha256sum, so `cd PATH && sha256sum -c manifest.txt` checks it without Airlock
  json  {"schema_version", "algorithm", "root", "total_files", "total_bytes",
        "files": [{"path", "size", "sha256"}], "links_out": [...]}

Links that leave the folder are not followed: they are listed on stderr (and in
`links_out`), not hashed. A Hugging Face cache repository (models--org--name) is hashed
snapshot by snapshot (paths start with snapshots/<revision>/).

exit codes:
  0  manifest written
  2  usage error: a PATH that does not exist, or a file that cannot be read

examples:
  airlock hash ./some-model/ > some-model.sha256
  airlock hash ./some-model/ --format json > manifest.json
  airlock hash model.gguf --format json | jq -r '.files[0].sha256'
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "hash",
        help="a sha256 manifest of every file of a model",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="a model folder or file")
    parser.add_argument(
        "-f",
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: sha256sum lines (default); json: the manifest with sizes",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=jobs,
        metavar="N",
        help="files hashed at once, 1 to 256 (default: one per core)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from airlock.provenance.errors import ProvenanceError
    from airlock.provenance.manifest import build_manifest

    path = Path(args.path)
    try:
        if not args.no_progress and sys.stderr.isatty():
            from airlock.cli.progress import ByteProgress  # rich loads only for a terminal

            with ByteProgress() as progress:
                manifest = build_manifest(
                    path, jobs=args.jobs, on_start=progress.start, on_bytes=progress.advance
                )
        else:
            manifest = build_manifest(path, jobs=args.jobs)
    except ProvenanceError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    for link in manifest.links_out:
        print(f"airlock: not followed (link leaves the folder): {link}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(manifest.to_json())
    else:
        sys.stdout.writelines(f"{f.sha256}  {f.path}\n" for f in manifest.files)
    return 0
