"""What every registry command shares: opening it (or one line saying which database failed and
why) and `--actor`, the name written to the audit log."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from airlock.cli.errors import print_error

if TYPE_CHECKING:
    from airlock.gateway.changes import Kind
    from airlock.registry.store import Registry


def open_registry() -> Registry | None:
    """The registry, or None after printing why it cannot be opened."""
    try:
        from airlock.registry.store import Registry, RegistryError
    except ImportError as exc:  # an install without the registry's libraries
        print_error(f"the registry needs {exc.name}, which is not installed")
        return None
    try:
        return Registry()
    except RegistryError as exc:
        print_error(str(exc))
        return None


def add_actor_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--actor",
        metavar="NAME",
        help="who makes this change, for the audit log (default: your OS user name)",
    )


def actor_of(args: argparse.Namespace) -> str | None:
    actor: str | None = getattr(args, "actor", None)
    return actor.strip() if actor and actor.strip() else None


def tell_replicas(kind: Kind, subject: str) -> None:
    """After a committed change: tell running gateways at once (when they share Redis:
    AIRLOCK_REDIS_URL); if that fails, say so — they still see it within seconds."""
    from airlock.gateway.changes import notify

    problem = notify(kind, subject)
    if problem is not None:
        print(
            f"airlock: warning: recorded, but running gateways were not told at once: {problem}; "
            "they see the change within 5 seconds",
            file=sys.stderr,
        )
