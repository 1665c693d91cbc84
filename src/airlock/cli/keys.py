"""`airlock keys create|list|revoke`: API keys for the gateway (stored hashed)."""

from __future__ import annotations

import argparse
from typing import Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import int_range
from airlock.cli.registry_access import (
    actor_of,
    add_actor_argument,
    open_registry,
    tell_replicas,
)

__all__ = ["open_registry", "register"]  # open_registry: usage and serve import it from here

_EPILOG = """\
examples:
  airlock keys create --name search-app --models minilm --rpm 600
  airlock keys create --name alice --role reviewer     # signs in to the console
  airlock keys create --name chat-app --models llama --rpm 60 --tpm 20000
  airlock keys list
  airlock keys revoke search-app

The key is printed once, by `create`; only its sha256 hash is stored."""
MAX_RPM = 1_000_000  # 16,000 a second: beyond it, a limit in name only
MAX_TPM = 1_000_000_000


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "keys",
        help="create, list and revoke API keys for `airlock serve`",
        description="API keys for the gateway: per-key allowed models and rate limits.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help="models the key may use (default: every admitted model)",
    )
    create.add_argument(
        "--rpm",
        type=int_range(1, MAX_RPM),
        metavar="N",
        help=f"requests per minute, 1 to {MAX_RPM:,} (default: no limit)",
    )
    create.add_argument(
        "--role",
        choices=("admin", "reviewer", "requester", "app"),
        default="app",
        help="app (default): calls the API only; requester, reviewer, admin: people who sign "
        "in to the console (requesters ask for models, reviewers admit or refuse them, admins "
        "also manage keys)",
    )
    create.add_argument(
        "--tpm",
        type=int_range(1, MAX_TPM),
        metavar="N",
        help="prompt plus completion tokens per minute; a request is refused while the key "
        "has used more than that in the last minute (default: no limit)",
    )
    add_actor_argument(create)
    create.set_defaults(run=_create)
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.set_defaults(run=_list)
    revoke = actions.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    revoke.add_argument("--reason", metavar="TEXT", help="why (recorded in the audit log)")
    add_actor_argument(revoke)
    revoke.set_defaults(run=_revoke)


def _create(args: argparse.Namespace) -> int:
    if not args.name.strip():
        print_error("--name must not be empty")
        return USAGE_ERROR
    from airlock.gateway.auth import KeyError_, KeyStore

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    try:
        token, info = KeyStore(registry.engine).create(
            args.name,
            args.models,
            args.rpm,
            tpm=args.tpm,
            actor=actor_of(args),
            role=args.role,
        )
    except KeyError_ as exc:
        print_error(str(exc))
        return USAGE_ERROR
    finally:
        registry.close()
    print(token)
    scope = ", ".join(info.models) if info.models else "all admitted models"
    rates = [f"{info.rpm} requests/min"] if info.rpm else []
    rates += [f"{info.tpm} tokens/min"] if info.tpm else []
    rate = ", ".join(rates) or "no rate limit"
    print(
        f"key {info.name!r} ({info.role}; {scope}; {rate}). It is shown only now: store it safely."
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from airlock.gateway.auth import KeyStore

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    try:
        keys = KeyStore(registry.engine).list()
    finally:
        registry.close()
    if not keys:
        print("no keys yet: airlock keys create --name NAME")
    for key in keys:
        models = ",".join(key.models) if key.models else "*"
        state = "revoked" if key.revoked else "active"
        rpm = key.rpm or "-"
        tpm = key.tpm or "-"
        print(
            f"{key.name}\t{key.prefix}...\t{state}\trole={key.role}\tmodels={models}\trpm={rpm}\ttpm={tpm}\t"
            f"created={key.created_at.isoformat(timespec='seconds')}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from airlock.gateway.auth import KeyError_, KeyStore

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    try:
        KeyStore(registry.engine).revoke(args.name, reason=args.reason, actor=actor_of(args))
    except KeyError_ as exc:
        print_error(str(exc))
        return USAGE_ERROR
    finally:
        registry.close()
    tell_replicas("key-revoked", args.name)
    print(f"revoked {args.name!r}")
    return 0
