"""The `airlock` command: parses arguments and hands off to one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from airlock import __version__
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
  airlock pull org/model --admit --name NAME   download from the Hub into quarantine, vet, admit
  airlock eval faq.jsonl --model NAME --model OTHER   compare models on your own data
  airlock revet --all         re-vet admitted models with today's rules; suspend failures
  airlock audit               who changed the registry, when and why
  airlock explain AIR101      what a finding's rule means and what to do
  airlock policy init         write a commented starter policy for vet and admit
  airlock data check train.jsonl --against test.jsonl   duplicates, leakage, personal data

environment:
  {HOME_ENV}  where Airlock keeps its database and configuration
                (default: your platform's per-user data folder)
  AIRLOCK_DATABASE_URL  the registry database (default: a SQLite file in AIRLOCK_HOME);
                postgresql+psycopg://user:password@host/db (postgres:// means the same)
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line that points to --help, instead of the whole usage block."""

    def error(self, message: str) -> NoReturn:
        print_error(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(USAGE_ERROR)


# Command name -> module with its `register(commands)`. Only the module of the command being run
# is imported (a CI scan should not pay for the registry, the gateway or jinja2); --help and
# unknown commands import them all so that every command is listed.
_COMMANDS = {
    "scan": "scan", "fit": "fit", "license": "license", "hash": "hash", "sign": "sign",
    "verify": "sign", "bom": "bom", "vet": "vet", "admit": "admit", "models": "models",
    "serve": "serve", "keys": "keys", "usage": "usage", "audit": "audit",
    "explain": "explain", "policy": "policy", "data": "data", "eval": "eval",
    "revet": "revet",
    "pull": "pull",
}  # fmt: skip


def _modules_for(argv: list[str]) -> list[str]:
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command in _COMMANDS:
        return [_COMMANDS[command]]
    return list(dict.fromkeys(_COMMANDS.values()))


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
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
    for name in _modules_for(sys.argv[1:] if argv is None else argv):
        importlib.import_module(f"airlock.cli.{name}").register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser(argv).parse_args(argv)
        # The words as typed, for commands that parse them again (`serve --config`).
        args.argv = list(sys.argv[1:] if argv is None else argv)
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
