"""`airlock audit`: the registry's audit log (admissions, removals, keys, eval
results), oldest first."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from airlock.cli.errors import USAGE_ERROR
from airlock.cli.registry_access import open_registry

_EPILOG = """\
Every change to the registry is written here in the same transaction as the change itself:
  model.admit   `airlock admit` (a forced admission carries its --reason)
  model.remove  `airlock models remove` (always with its --reason)
  model.suspend    `airlock revet` (or `airlock serve --revet-every`): a version that no
                   longer passes, with the reason
  model.reinstate  a re-admission of a suspended version's bytes, which lifts the suspension
  key.create    `airlock keys create`
  key.revoke    `airlock keys revoke`
  eval.record   `airlock eval` recording a model's results (one entry per model and run)
Who: the OS user, or the name given with --actor.

examples:
  airlock audit
  airlock audit --since 7d --action model.remove
  airlock audit --since 2026-01-01 --format json

exit codes:
  0  shown (also when there is nothing to show)
  2  usage error, or the registry cannot be opened
"""

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def register(commands: Any) -> None:
    from airlock.registry.audit_actions import ACTIONS

    parser = commands.add_parser(
        "audit",
        help="who changed the registry, when and why",
        description="The registry's audit log, oldest first.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--since",
        type=since,
        metavar="WHEN",
        help="a date or time (2026-01-31, 2026-01-31T09:00) or an age (30m, 12h, 7d, 2w)",
    )
    parser.add_argument("--action", choices=ACTIONS, help="only this kind of change")
    parser.add_argument("-f", "--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def since(text: str) -> datetime:
    """An absolute time (UTC unless it names its zone) or an age before now."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = relative.groups()
        try:
            return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
        except OverflowError:
            raise argparse.ArgumentTypeError(
                f"{text!r} reaches back before the year 1; give a shorter age or a date"
            ) from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date, a time or an age (e.g. 2026-01-31, 12h, 7d)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def run(args: argparse.Namespace) -> int:
    from airlock.registry.audit import read

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    try:
        entries = read(registry.engine, args.since, args.action)
    finally:
        registry.close()
    if args.format == "json":
        print(json.dumps([e.to_dict() for e in entries], indent=2))
        return 0
    if not entries:
        print("No changes recorded" + (" in that period." if args.since else " yet."))
    for e in entries:
        why = f"  reason: {e.reason}" if e.reason else ""
        print(f"{e.at.isoformat(timespec='seconds')}  {e.actor}  {e.action}  {e.subject}{why}")
    return 0
