"""`airlock revet`: re-vet admitted versions with today's policy and rules; suspend failures."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.registry_access import actor_of, add_actor_argument, open_registry

if TYPE_CHECKING:
    from airlock.policy.model import Policy
    from airlock.registry.store import Registry
    from airlock.revet.run import Outcome

SOME_SUSPENDED = 1

_DESCRIPTION = """\
Re-vet admitted versions as `airlock vet` would vet them today: their files are read again from
their recorded source, checked against the manifest they were admitted with, then judged by
today's rules, allowlists, license knowledge and policy. A version that no longer passes is
suspended: the gateway refuses it (403, code model_suspended, with the reason) and `airlock
models list` shows it. Nothing is deleted. A re-admission of the same files (`airlock admit
SOURCE --name NAME`, which vets them again, or with --force --reason) lifts the suspension.

Every version of each NAME is re-vetted, not only the newest: older ones can still be reached
(the mirror serves revisions). Versions already suspended are left as they are."""

_EPILOG = """\
why a version is suspended:
  its source cannot be read, or its files no longer match the admitted manifest (changed,
  added, removed: what is served must be what was vetted); or today's policy refuses it. A
  version admitted with --force is suspended only for a refusal it was not forced over.

exit codes:
  0  every version re-vetted still passes
  1  some version is suspended (by this run, or earlier)
  2  usage error: no NAME and no --all, a NAME not admitted, a policy that does not load, or a
     registry that cannot be opened

examples:
  airlock revet --all
  airlock revet chat embedder --policy our-policy.yaml
  airlock revet --all --format json | jq '.versions[] | select(.status == "suspended")'
  airlock serve --revet-every 24h --policy our-policy.yaml   # the same, on a schedule
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "revet",
        help="re-vet admitted models with today's rules and policy; suspend those that fail",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="admitted names to re-vet")
    parser.add_argument("--all", action="store_true", help="every admitted name")
    parser.add_argument(
        "--policy", metavar="FILE", help="policy YAML to apply (default: the shipped one)"
    )
    parser.add_argument("-f", "--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it shows on a terminal only)"
    )
    add_actor_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.names) == bool(args.all):
        print_error("name the models to re-vet, or --all for every one (not both)")
        return USAGE_ERROR
    from airlock.policy.schema import PolicyError, default_policy, load_policy

    try:
        policy = load_policy(args.policy) if args.policy else default_policy()
    except PolicyError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    from sqlalchemy.exc import SQLAlchemyError

    from airlock.registry.store import RegistryError

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    try:
        return _revet(registry, args, policy)
    except (SQLAlchemyError, RegistryError) as exc:
        print_error(f"{registry.location.describe()}: {str(exc).strip().splitlines()[0]}")
        return USAGE_ERROR
    finally:
        registry.close()


def _revet(registry: Registry, args: argparse.Namespace, policy: Policy) -> int:
    from airlock.revet.run import PASSED, chosen, revet

    known = set(registry.names())
    missing = [n for n in args.names if n not in known]
    if missing:
        print_error(f"not admitted: {', '.join(missing)} (`airlock models list` shows the names)")
        return USAGE_ERROR
    records = chosen(registry, args.names)
    actor = actor_of(args)
    if args.no_progress or len(records) < 2 or not sys.stderr.isatty():
        outcomes = revet(registry, records, policy, actor=actor)
    else:
        from airlock.cli.progress import RevetProgress  # rich loads only for a terminal

        with RevetProgress() as progress:
            progress.start(len(records))
            outcomes = revet(registry, records, policy, actor=actor, done=progress.advance)
    if args.format == "json":
        print(json.dumps(_document(policy, outcomes), indent=2))
    else:
        _print_text(policy, outcomes)
    return 0 if all(o.status == PASSED for o in outcomes) else SOME_SUSPENDED


def _document(policy: Policy, outcomes: list[Outcome]) -> dict[str, Any]:
    from airlock.revet.run import PASSED
    from airlock.ruleset import ruleset_digest

    return {
        "policy": {"name": policy.name, "digest": policy.digest},
        "ruleset_digest": ruleset_digest(),
        "passed": sum(o.status == PASSED for o in outcomes),
        "suspended": sum(o.status != PASSED for o in outcomes),
        "versions": [o.to_dict() for o in outcomes],
    }


def _print_text(policy: Policy, outcomes: list[Outcome]) -> None:
    from airlock.revet.run import PASSED, SUSPENDED

    words = {PASSED: "passes", SUSPENDED: "SUSPENDED", "still_suspended": "still suspended"}
    for o in outcomes:
        line = f"{o.name} v{o.version}: {words[o.status]}"
        print(line + (f": {o.reason}" if o.reason else ""))
    suspended = sum(o.status != PASSED for o in outcomes)
    print(
        f"Re-vetted {len(outcomes)} version(s) with policy {policy.name!r}: "
        f"{len(outcomes) - suspended} pass, {suspended} suspended.",
        file=sys.stderr,
    )
    if suspended:
        print(
            "Suspended versions are not served. To lift a suspension after review, re-admit "
            "the files: airlock admit SOURCE --name NAME (see `airlock models show NAME`).",
            file=sys.stderr,
        )
