"""The `airlock` command: parses arguments and hands off to one module per subcommand."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from airlock import __version__
from airlock.cli import admit, bom, fit, hash, keys, license, models, scan, serve, sign, usage, vet
from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.home import HOME_ENV

_EPILOG = f"""\
examples:
  airlock scan ./downloads/some-model/
  airlock scan --help         what is scanned, exit codes, output formats
  airlock fit ./some-model/   memory, accelerators, speed and cost, from headers alone
  airlock license ./some-model/  which license, and what it obliges you to do
  airlock sign ./some-model/ --key key.pem   sign every file; `airlock verify` checks it
  airlock vet ./some-model/   one verdict by your policy: admit, with conditions, or refuse
  airlock admit ./some-model/ --name NAME   vet, then record it in the registry

environment:
  {HOME_ENV}  where Airlock keeps its database and configuration
                (default: your platform's per-user data folder)
  AIRLOCK_DATABASE_URL  the registry database (default: a SQLite file in AIRLOCK_HOME)
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line that points to --help, instead of the whole usage block."""

    def error(self, message: str) -> NoReturn:
        print_error(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(USAGE_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="airlock",
        description="Airlock: the way in for open-source AI models.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"airlock {__version__}")
    commands = parser.add_subparsers(
        dest="command", title="commands", metavar="COMMAND", required=True
    )
    scan.register(commands)
    fit.register(commands)
    license.register(commands)
    hash.register(commands)
    sign.register(commands)  # sign and verify
    bom.register(commands)
    vet.register(commands)
    admit.register(commands)
    models.register(commands)
    serve.register(commands)
    keys.register(commands)
    usage.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.run(args)
    except SystemExit as exc:  # argparse: 0 after --help/--version, 2 after a usage error
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`| head`); stop quietly, as other CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug: still one line, and no exit code that reads as a verdict
        print_error(f"internal error, please report it: {type(exc).__name__}: {exc}")
        return USAGE_ERROR
    return code
