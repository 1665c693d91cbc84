"""`airlock pull`: download a repository from a Hugging Face Hub into quarantine, check every
file against the hub's hashes, vet it, and admit it when the policy allows."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import int_range, write_report
from airlock.cli.registry_access import add_actor_argument, open_registry
from airlock.cli.vet import FORMATS, REFUSED, VetError, render, vet

if TYPE_CHECKING:
    from airlock.api import Vetted
    from airlock.pull.hub import RemoteRepo
    from airlock.pull.quarantine import Quarantine
    from airlock.registry.store import Registry

TOKEN_ENV = "HF_TOKEN"

_DESCRIPTION = """\
Download REPO_ID from a Hugging Face Hub (the public one, or any mirror with --endpoint) into a
quarantine folder under AIRLOCK_HOME that no loader looks in. Every file's size and hash is
checked against what the hub lists (sha256 for LFS files, the git blob id for the others): one
mismatch refuses the pull, and nothing is admitted. The files are then vetted by your policy,
as `airlock vet` does; with --admit --name they are admitted when the policy allows (and served
by the mirror under REPO_ID), else they stay in quarantine with the report.

Downloads run in parallel and resume: run the same command again after an interruption and
partial files continue where they stopped. The token for a private or gated repository comes
from the HF_TOKEN environment variable."""

_EPILOG = """\
exit codes:
  0  pulled and checked; admitted (with --admit), or the policy would admit it
  1  refused: a file does not match the hub's hashes, or the policy refuses the model
  2  usage error, the hub cannot be reached or refuses, or the registry cannot be opened

examples:
  airlock pull sentence-transformers/all-MiniLM-L6-v2 --admit --name minilm
  airlock pull org/model --revision v1.2 --include "*.safetensors" --include "*.json"
  airlock pull org/model --endpoint https://hub-mirror.internal --exclude "*.bin"
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "pull",
        help="download a model from a Hugging Face Hub into quarantine, check, vet, admit",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("repo_id", metavar="REPO_ID", help="the repository: org/name")
    parser.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="the hub to pull from (default: https://huggingface.co); another Airlock works",
    )
    parser.add_argument(
        "--include",
        action="append",
        metavar="PATTERN",
        help="only files matching PATTERN (fnmatch, as huggingface_hub's allow_patterns; "
        "repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERN",
        help="leave out files matching PATTERN (as ignore_patterns; repeatable)",
    )
    parser.add_argument(
        "--jobs", type=int_range(1, 64), default=8, metavar="N", help="parallel downloads (8)"
    )
    parser.add_argument("--admit", action="store_true", help="admit it if the policy allows")
    parser.add_argument("--name", help="with --admit: the model name apps will use")
    parser.add_argument("--policy", metavar="FILE", help="policy YAML (default: the shipped one)")
    parser.add_argument(
        "-f", "--format", choices=FORMATS, default="text", help="report format (default: text)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_actor_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from airlock.registry import names, repo_ids

    if (problem := repo_ids.problem(args.repo_id)) is not None:
        print_error(f"REPO_ID {problem}")
        return USAGE_ERROR
    if args.admit != (args.name is not None):
        print_error("--admit and --name go together: --admit --name NAME")
        return USAGE_ERROR
    if args.name is not None and (problem := names.problem(args.name)) is not None:
        print_error(f"--name {problem}")
        return USAGE_ERROR
    try:
        import httpx  # noqa: F401 - checked here for a clear message
    except ImportError:
        print_error("`airlock pull` needs httpx: pip install 'model-airlock[pull]'")
        return USAGE_ERROR
    registry = open_registry() if args.admit else None
    if args.admit and registry is None:
        return USAGE_ERROR
    try:
        if registry is not None:
            names.check(args.name, registry.names())  # before downloading gigabytes
        return _pull(args, registry)
    except names.NameRefused as exc:
        print_error(f"--name {exc}")
        return USAGE_ERROR
    finally:
        if registry is not None:
            registry.close()


def _pull(args: argparse.Namespace, registry: Registry | None) -> int:
    from airlock.pull import hub
    from airlock.pull.download import IntegrityRefused
    from airlock.pull.quarantine import quarantine_for

    endpoint = args.endpoint or hub.PUBLIC_HUB
    with hub.client(endpoint, os.environ.get(TOKEN_ENV)) as http:
        try:
            repo = hub.fetch_repo(http, args.repo_id, args.revision)
            files = hub.select(repo.files, args.include, args.exclude)
            if not files:
                print_error(f"{args.repo_id}@{repo.commit}: no file matches --include/--exclude")
                return USAGE_ERROR
            quarantine = quarantine_for(repo.repo_id, repo.commit)
            _download(args, http, repo, files, quarantine)
        except hub.HubError as exc:
            print_error(str(exc))
            return USAGE_ERROR
        except IntegrityRefused as exc:
            print(f"Refused: {exc}.", file=sys.stderr)
            return REFUSED
    size = sum(f.size for f in files)
    print(
        f"Pulled {args.repo_id}@{repo.commit}: {len(files)} files, {size:,} bytes, each matching "
        f"the hub's hashes; quarantined in {quarantine.files}.",
        file=sys.stderr,
    )
    return _vet(args, registry, repo, quarantine)


def _download(
    args: argparse.Namespace,
    http: Any,
    repo: RemoteRepo,
    files: tuple[Any, ...],
    quarantine: Quarantine,
) -> None:
    from airlock.pull.download import download_all

    total = sum(f.size for f in files)
    if args.no_progress or not sys.stderr.isatty():
        download_all(http, repo, files, quarantine.files, quarantine.partial, args.jobs, _skip)
        return
    from airlock.cli.progress import DownloadProgress  # rich loads only for a terminal

    with DownloadProgress() as progress:
        progress.start(len(files), total)
        download_all(
            http, repo, files, quarantine.files, quarantine.partial, args.jobs, progress.advance
        )


def _skip(_: int) -> None:
    """No progress to show."""


def _vet(
    args: argparse.Namespace, registry: Registry | None, repo: RemoteRepo, quarantine: Quarantine
) -> int:
    from airlock.pull.quarantine import release

    options = argparse.Namespace(
        path=str(quarantine.files), policy=args.policy, signature=None, format=args.format
    )
    try:
        vetted = vet(options, registry)
    except VetError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    quarantine.report.write_text(render(vetted, "json"), encoding="utf-8")
    if not write_report(render(vetted, args.format, args.output), args.output):
        return USAGE_ERROR
    if not vetted.verdict.admitted:
        print(
            f"Not admitted: the policy refuses this model. It stays in quarantine "
            f"({quarantine.files}); the report is {quarantine.report}.",
            file=sys.stderr,
        )
        return REFUSED
    if registry is None:
        print(
            f"The policy admits it. To admit it: airlock pull {args.repo_id} --revision "
            f"{repo.commit} --admit --name NAME (the files already here are not downloaded "
            "again).",
            file=sys.stderr,
        )
        return 0
    released = release(quarantine, repo.repo_id, repo.commit)
    return _record(args, registry, _moved(vetted, str(released)))


def _moved(vetted: Vetted, source: str) -> Vetted:
    from dataclasses import replace

    from airlock.api import Vetted

    return Vetted(replace(vetted.dossier, source=source), vetted.verdict, vetted.policy)


def _record(args: argparse.Namespace, registry: Registry, vetted: Vetted) -> int:
    from airlock.cli.admit import record_vetted

    admit_args = argparse.Namespace(
        name=args.name, repo_id=args.repo_id, force=False, reason=None, actor=args.actor
    )
    return record_vetted(admit_args, registry, vetted)
