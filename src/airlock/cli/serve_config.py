"""`airlock serve --config serve.toml`: every `airlock serve` option in a TOML file.

A setting is an option's long name without the dashes (`memory-budget` or `memory_budget`);
its value is what the option takes: a string or number, `true` for a flag, a list for a
repeatable option (`upstream = ["llama=http://gpu:8000/v1"]`). The settings are turned into
arguments and parsed by the very parser of the command line, so options added to
`airlock serve` are settings at once, with the same checks and messages.

Command-line options override the file: the file's arguments come first (a later option wins),
and a repeatable option given on the command line replaces the file's list. `${NAME}` in a
string is the environment variable NAME (secrets stay out of the file); one that is not set is
an error."""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from airlock.suggest import did_you_mean

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NOT_SETTINGS = {"help", "config"}


class ConfigError(Exception):
    """A file that cannot be read or a setting that is not an option: one line, exit 2."""


def merged_arguments(path: Path, parser: argparse.ArgumentParser, cli: list[str]) -> list[str]:
    """The file's settings as arguments, then the command line's `cli` arguments."""
    settings = _read(path)
    options = _options(parser)
    given = vars(parser.parse_args(cli))  # what the command line set, checked as usual
    arguments: list[str] = []
    for name, value in settings.items():
        action = options.get(name.replace("_", "-"))
        if action is None:
            hint = did_you_mean(name.replace("_", "-"), list(options))
            raise ConfigError(f"{path}: unknown setting {name!r}{hint}")
        flag = action.option_strings[-1]
        where = f"{path}: {name}"
        if isinstance(action, argparse._AppendAction):
            if given.get(action.dest):  # the command line's list replaces the file's
                continue
            if not isinstance(value, list):
                raise ConfigError(f'{where}: expected a list, e.g. {name} = ["..."]')
            for item in value:
                arguments += [flag, _text(item, where)]
        elif action.nargs == 0:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false")
            if value:
                arguments.append(flag)
        else:
            arguments += [flag, _text(value, where)]
    return arguments + cli


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Long option name without dashes -> its action."""
    found = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in _NOT_SETTINGS:
            found[longs[-1][2:]] = action
    return found


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{where}: expected a string or a number")
    if not isinstance(value, str):
        return str(value)

    def variable(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None:
            raise ConfigError(f"{where}: environment variable {match.group(1)} is not set")
        return found

    return _VARIABLE.sub(variable, value)
