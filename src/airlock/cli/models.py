"""`airlock models`: list, show, remove and verify the model versions in the registry."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import int_range
from airlock.cli.registry_access import (
    actor_of,
    add_actor_argument,
    open_registry,
    tell_replicas,
)

if TYPE_CHECKING:
    from airlock.registry.store import Record, Registry

DRIFT = 1
# Version numbers: what an INTEGER column holds in every database the registry runs on.
version = int_range(1, 2**31 - 1)

_EPILOG = """\
exit codes:
  0  done; for verify: every file matches what was admitted
  1  verify: a file changed, appeared or went missing; show/remove: no such model
  2  usage error, or the registry cannot be opened

registry: a SQLite file in $AIRLOCK_HOME, or the database in $AIRLOCK_DATABASE_URL
  (e.g. postgresql+psycopg://user@host/db; postgres:// means the same).

Each version shows the engine `airlock serve` will run it with, decided at admission from its
config files, or "not servable: WHY" (such a model is not offered by the gateway), or
"SUSPENDED: WHY" when `airlock revet` found it no longer passes (not served until re-admitted;
the JSON has suspended, suspended_at, suspended_reason and the last vet's digests).
`show` lists the eval results recorded for the version's exact files (docs/eval.md), by dataset
and metric, newest first. Removals need --reason; they are recorded in the audit log
(`airlock audit`).
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "models",
        help="list, show, remove or verify admitted models",
        description="The models admitted into the registry.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every admitted version")
    listing.add_argument("-f", "--format", choices=("text", "json"), default="text")
    listing.set_defaults(run=_wrap(_list))
    show = actions.add_parser(
        "show", help="one version: verdict, conditions, files, eval results, dossier"
    )
    show.add_argument("name")
    show.add_argument("--version", type=version, help="default: the newest")
    show.add_argument("-f", "--format", choices=("text", "json"), default="text")
    show.set_defaults(run=_wrap(_show))
    remove = actions.add_parser("remove", help="delete a name's versions (or one), with a reason")
    remove.add_argument("name")
    remove.add_argument("--version", type=version, help="default: every version")
    remove.add_argument(
        "--reason", required=True, metavar="TEXT", help="why it is removed (audit log)"
    )
    add_actor_argument(remove)
    remove.set_defaults(run=_wrap(_remove))
    configure = actions.add_parser(
        "configure",
        help="set the options of the engine process `airlock serve --engine` starts for it",
        description="Options for the engine process (vLLM, llama.cpp) that `airlock serve "
        "--engine NAME` starts on the model's verified copy. They are recorded on the newest "
        "version (audited) and carried to the name's next admitted versions.",
        epilog=_configure_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    configure.add_argument("name")
    configure.add_argument(
        "--engine-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set one option (repeatable); the options are listed below",
    )
    configure.add_argument(
        "--unset", action="append", default=[], metavar="KEY", help="remove one option"
    )
    add_actor_argument(configure)
    configure.set_defaults(run=_wrap(_configure))
    verify = actions.add_parser("verify", help="re-hash admitted files and report drift")
    verify.add_argument("name", nargs="?", help="default: the newest version of every model")
    verify.set_defaults(run=_wrap(_verify))


def _wrap(action: Callable[[Registry, argparse.Namespace], int]) -> Callable[..., int]:
    def run(args: argparse.Namespace) -> int:
        registry = open_registry()
        if registry is None:
            return USAGE_ERROR
        try:
            return action(registry, args)
        finally:
            registry.close()

    return run


def _list(registry: Registry, args: argparse.Namespace) -> int:
    records = registry.versions()
    if args.format == "json":
        rows = [{k: v for k, v in r.to_dict().items() if k != "dossier"} for r in records]
        print(json.dumps(rows, indent=2))
        return 0
    if not records:
        print("No models admitted yet.")
    for r in records:
        forced = "  FORCED" if r.forced else ""
        when = r.created_at.strftime("%Y-%m-%d %H:%M")
        print(
            f"{r.name}  v{r.version}  {r.decision}{forced}  {when}  {len(r.files)} files  "
            f"{r.serving}"
        )
    return 0


def _show(registry: Registry, args: argparse.Namespace) -> int:
    record = registry.get(args.name, args.version)
    if record is None:
        print_error(
            f"no model {args.name!r}" + (f" version {args.version}" if args.version else "")
        )
        return DRIFT
    from airlock.registry.evals import for_files
    from airlock.report.recorded_evals import describe

    evals = for_files(registry, record.manifest_digest)
    if args.format == "json":
        document = {**record.to_dict(), "evals": [r.to_dict() for r in evals]}
        print(json.dumps(document, indent=2))
        return 0
    print(f"{record.name} version {record.version}: {record.decision}")
    print(f"  source      {record.source}")
    print(f"  admitted    {record.created_at.isoformat(timespec='seconds')}")
    print(f"  policy      {record.policy_name} ({record.policy_digest})")
    print(f"  manifest    {record.manifest_digest}")
    print(f"  serving     {record.serving}")
    if record.suspended_at is not None:
        print(f"  suspended   {record.suspended_at.isoformat(timespec='seconds')}")
    if record.vetted_at is not None:
        print(
            f"  last vet    {record.vetted_at.isoformat(timespec='seconds')}  policy "
            f"{record.vetted_policy_digest}  rules {record.vetted_ruleset_digest or 'unknown'}"
        )
    if record.repo_id is not None:
        print(f"  mirrored    {record.repo_id} at revision {record.revision}")
    if record.engine_options:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(record.engine_options.items()))
        print(f"  engine opts {shown}")
    if record.forced:
        print(f"  FORCED      {record.force_reason}")
    for reason in record.reasons:
        print(f"  reason      {reason['message']}")
    for condition in record.conditions:
        print(f"  condition   {condition}")
    for f in record.files:
        print(f"  file        {f.sha256[:16]}  {f.size:>12,}  {f.path}")
    for result in evals:
        print(f"  eval        {describe(result)}")
    if not evals:
        print("  eval        none recorded for these files (`airlock eval` records them)")
    return 0


def _configure_epilog() -> str:
    from airlock import engine_options

    lines = ["engine options:"]
    for name in engine_options.option_names():
        lines.append(f"  {name:<24}{engine_options.option_help(name)}")
    lines += [
        "",
        "examples:",
        "  airlock models configure llama-70b --engine-option tensor_parallel_size=4 \\",
        "      --engine-option max_model_len=8192 --engine-option gpu_memory_utilization=0.9",
        "  airlock models configure llama-70b --unset max_model_len",
    ]
    return "\n".join(lines)


def _configure(registry: Registry, args: argparse.Namespace) -> int:
    from airlock import engine_options

    options: dict[str, engine_options.OptionValue] = {}
    try:
        for spec in args.engine_option:
            key, value = engine_options.parse(spec)
            options[key] = value
        unset = tuple(k.strip().replace("-", "_") for k in args.unset)
        for key in unset:
            if key not in engine_options.option_names():
                raise engine_options.OptionError(f"--unset {key!r}: unknown engine option")
    except engine_options.OptionError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    if not options and not unset:
        print_error("nothing to change: give --engine-option KEY=VALUE or --unset KEY")
        return USAGE_ERROR
    record = registry.configure(args.name, options, unset, actor=actor_of(args))
    if record is None:
        print_error(f"no model {args.name!r}")
        return DRIFT
    shown = ", ".join(f"{k}={v}" for k, v in sorted(record.engine_options.items()))
    print(f"{record.name} v{record.version}: engine options {shown or 'none (defaults)'}")
    return 0


def _remove(registry: Registry, args: argparse.Namespace) -> int:
    if not args.reason.strip():
        print_error("--reason must say why the model is removed (it is recorded)")
        return USAGE_ERROR
    removed = registry.remove(
        args.name, args.version, reason=args.reason.strip(), actor=actor_of(args)
    )
    if not removed:
        print_error(
            f"no model {args.name!r}" + (f" version {args.version}" if args.version else "")
        )
        return DRIFT
    tell_replicas("model-removed", args.name)
    print(f"Removed {removed} version(s) of {args.name} (recorded in the audit log).")
    return 0


def _verify(registry: Registry, args: argparse.Namespace) -> int:
    records = registry.latest(args.name)
    if args.name is not None and not records:
        print_error(f"no model {args.name!r}")
        return DRIFT
    drifted = False
    for record in records:
        problems = drift(record)
        registry.record_verification(record, problems)
        drifted = drifted or bool(problems)
        state = "DRIFTED" if problems else "ok"
        print(f"{record.name} v{record.version}: {state}  ({record.source})")
        for problem in problems:
            print(f"  {problem}")
    return DRIFT if drifted else 0


def drift(record: Record) -> list[str]:
    """What differs between the admitted files and those at the source now."""
    from airlock.dossier.provenance import hash_manifest
    from airlock.provenance.changes import diff
    from airlock.provenance.errors import ProvenanceError

    source = Path(record.source)
    if not source.exists():
        return [f"missing: {record.source} (the whole model)"]
    try:
        current = hash_manifest(source)
    except ProvenanceError as exc:
        return [f"unreadable: {exc}"]
    changes = diff({f.path: f.sha256 for f in record.files}, {f.path: f.sha256 for f in current})
    return [line.replace("removed:", "missing:") for line in changes.describe()]
