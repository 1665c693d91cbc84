"""`airlock hash`: a sha256 manifest of every file of a model, hashed in parallel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

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
        type=_positive,
        metavar="N",
        help="files hashed at once (default: one per core)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)"
    )
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    from airlock.provenance.errors import ProvenanceError
    from airlock.provenance.manifest import build_manifest

    path = Path(args.path)
    try:
        with _ByteProgress(not args.no_progress and sys.stderr.isatty()) as progress:
            manifest = build_manifest(
                path, jobs=args.jobs, on_start=progress.start, on_bytes=progress.advance
            )
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


class _ByteProgress:
    """A bar in bytes on stderr (a few large files are most of a model), with throughput."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def start(self, files: int, total_bytes: int) -> None:
        if not self._enabled or total_bytes == 0:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            f"Hashing {files} files",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._bar.add_task("hash", total=total_bytes)
        self._bar.start()

    def advance(self, done: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, done)

    def __enter__(self) -> _ByteProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
