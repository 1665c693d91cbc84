"""`airlock policy init [PATH]`: write a commented starter policy to edit."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import Any

from airlock.cli.errors import USAGE_ERROR, print_error

DEFAULT_PATH = "airlock-policy.yaml"

_EPILOG = f"""\
examples:
  airlock policy init                  writes {DEFAULT_PATH}
  airlock policy init policies/ml.yaml
  airlock vet ./model --policy {DEFAULT_PATH}

The starter is Airlock's default policy, every setting commented (reference: docs/vet.md)."""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "policy",
        help="write a starter policy for `vet` and `admit`",
        description="Policies: the organization's intake rules for `airlock vet` and `admit`.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser(
        "init", help="write a commented starter policy (the default one) to edit"
    )
    init.add_argument(
        "path", metavar="PATH", nargs="?", default=DEFAULT_PATH, help=f"default: {DEFAULT_PATH}"
    )
    init.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    init.set_defaults(run=_init)


def _init(args: argparse.Namespace) -> int:
    from airlock.policy.schema import DEFAULT_NAME

    path = Path(args.path)
    if path.is_dir():
        print_error(f"{path} is a folder: give a file name such as {path / DEFAULT_PATH}")
        return USAGE_ERROR
    if path.exists() and not args.force:
        print_error(f"{path} exists: not overwritten (use --force to replace it)")
        return USAGE_ERROR
    starter = resources.files("airlock.data").joinpath("policy", DEFAULT_NAME).read_bytes()
    try:
        path.write_bytes(starter)
    except OSError as exc:
        print_error(f"cannot write {path}: {exc.strerror or exc}")
        return USAGE_ERROR
    print(f"Wrote {path}. Edit it, then: airlock vet MODEL --policy {path}")
    return 0
