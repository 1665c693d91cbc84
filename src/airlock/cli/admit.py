"""`airlock admit`: vet a model, then record the admitted version in the registry."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import write_report
from airlock.cli.registry_access import (
    actor_of,
    add_actor_argument,
    open_registry,
    tell_replicas,
)
from airlock.cli.vet import REFUSED, VetError, add_vet_arguments, render, vet

if TYPE_CHECKING:
    from pathlib import Path

    from airlock.api import Vetted
    from airlock.registry.store import Registry

_DESCRIPTION = """\
Vet a model (as `airlock vet` does) and record it in the registry: name, source path, the
hash of every file, the dossier, the verdict, the policy's digest and the time. A refused
model is not recorded unless --force and --reason say who overrode the policy and why.

The registry is opened (and checked) before the model is vetted, so no verdict is printed that
cannot be recorded. Admission also decides which engine `airlock serve` will run the model with,
from its config files; a model no engine serves is recorded as "not servable" with the reason,
and the gateway does not offer it. Every admission is written to the audit log.

Admitting the files of a version that `airlock revet` suspended again (same name, same bytes)
re-vets them and, when the policy admits them (or with --force --reason), lifts the suspension:
the version is served again, and the audit log records model.reinstate with the new verdict."""

_EPILOG = """\
exit codes:
  0  admitted (recorded, or these exact files were already recorded under NAME)
  1  refused, and not recorded
  2  usage error, or the registry cannot be opened (checked before vetting)

examples:
  airlock admit ./minilm --name minilm
  airlock admit ./model --name chat --policy our-policy.yaml
  airlock admit ./minilm --name minilm --repo-id acme/minilm   # HF_ENDPOINT clients: acme/minilm
  airlock admit ./model --name chat --force --reason "approved by security, ticket SEC-12"
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "admit",
        help="vet a model and record the admitted version in the registry",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_vet_arguments(parser)
    parser.add_argument(
        "--name",
        required=True,
        help="the name apps will use for the model: 1 to 96 ASCII letters, digits, '-', '_', "
        "'.', starting and ending with a letter or digit; not like an admitted name",
    )
    parser.add_argument(
        "--repo-id",
        metavar="ORG/NAME",
        help="the id the Hugging Face mirror serves it under (HF_ENDPOINT clients ask for it); "
        "default: the id in a Hugging Face cache path, else the name's previous version's id, "
        "else none (not mirrored)",
    )
    parser.add_argument(
        "--force", action="store_true", help="record a refused model anyway (needs --reason)"
    )
    parser.add_argument("--reason", metavar="TEXT", help="why the policy is overridden (recorded)")
    add_actor_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.force and not (args.reason and args.reason.strip()):
        print_error("--force needs --reason TEXT: overriding the policy is recorded with why")
        return USAGE_ERROR
    if args.reason and not args.force:
        print_error("--reason goes with --force")
        return USAGE_ERROR
    from airlock.registry import names

    if (problem := names.problem(args.name)) is not None:
        print_error(f"--name {problem}")
        return USAGE_ERROR
    from airlock.registry import repo_ids

    if args.repo_id is not None and (problem := repo_ids.problem(args.repo_id)) is not None:
        print_error(f"--repo-id {problem}")
        return USAGE_ERROR
    from sqlalchemy.exc import SQLAlchemyError

    from airlock.registry.store import RegistryError

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    try:
        # Checked before vetting, as the registry is: no verdict is printed that cannot be
        # recorded. Admitting checks again, in the transaction that records the name.
        names.check(args.name, registry.names())
        return _vet_and_record(args, registry)
    except names.NameRefused as exc:
        print_error(f"{'--repo-id' if isinstance(exc, repo_ids.RepoIdRefused) else '--name'} {exc}")
        return USAGE_ERROR
    except (SQLAlchemyError, RegistryError) as exc:
        print_error(f"{registry.location.describe()}: {str(exc).strip().splitlines()[0]}")
        return USAGE_ERROR
    finally:
        registry.close()


def _vet_and_record(args: argparse.Namespace, registry: Registry) -> int:
    try:
        vetted = vet(args, registry)
    except VetError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    if not write_report(render(vetted, args.format, args.output), args.output):
        return USAGE_ERROR
    if not vetted.verdict.admitted and not args.force:
        print("Not admitted: the policy refuses this model.", file=sys.stderr)
        return REFUSED
    return record_vetted(args, registry, vetted)


def record_vetted(args: argparse.Namespace, registry: Registry, vetted: Vetted) -> int:
    """Record a vetted model the policy admits (or --force overrides) under args.name,
    args.repo_id; `airlock pull --admit` comes here too."""
    from pathlib import Path

    from airlock.engine_choice import choose_engine

    reason = args.reason.strip() if args.force and not vetted.verdict.admitted else None
    dossier = vetted.dossier
    engine = choose_engine(Path(dossier.source), [f.path for f in dossier.provenance.files])
    suspended = [
        r
        for r in registry.versions(args.name)
        if r.manifest_digest == dossier.provenance.digest and r.suspended_reason is not None
    ]
    record, created = registry.admit(
        args.name,
        dossier,
        vetted.verdict,
        vetted.policy,
        engine,
        force_reason=reason,
        actor=actor_of(args),
        repo_id=args.repo_id or _cached_repo_id(Path(dossier.source)),
    )
    if created:
        tell_replicas("model-admitted", record.name)
    forced = " (forced: the policy refused it)" if record.forced else ""
    what = "Admitted" if created else "Already admitted"
    print(f"{what} {record.name} version {record.version}{forced}.", file=sys.stderr)
    if suspended and record.suspended_reason is None:
        print(
            f"Reinstated: the suspension ({suspended[0].suspended_reason}) is lifted "
            "(recorded in the audit log).",
            file=sys.stderr,
        )
    if record.engine is None:
        print(
            f"Not servable: {record.engine_reason}. `airlock serve` will not offer it.",
            file=sys.stderr,
        )
    else:
        print(f"Served by the {record.engine} engine.", file=sys.stderr)
    if record.repo_id is not None:
        print(f"Mirrored as {record.repo_id} at revision {record.revision}.", file=sys.stderr)
    return 0


def _cached_repo_id(path: Path) -> str | None:
    """The repo id of a model in a Hugging Face cache (a snapshot, or the repository folder):
    what clients asked the Hub for, so what they will ask the mirror for."""
    from airlock.hf_cache import repo_folder, snapshot_of

    snapshot = snapshot_of(path)
    found = (snapshot.repo_type, snapshot.repo_id) if snapshot is not None else repo_folder(path)
    return found[1] if found is not None and found[0] == "model" else None
