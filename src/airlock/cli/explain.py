"""`airlock explain RULE`: what a finding's rule means and what to do about it.

The text is airlock.rules, the same that docs/rules.md is generated from.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from airlock.cli.errors import USAGE_ERROR, print_error

WIDTH = 100

_EPILOG = """\
examples:
  airlock explain AIR101
  airlock explain pickle-dangerous-callable

Every rule, in one page: docs/rules.md."""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "explain",
        help="what a finding's rule id means and what to do about it",
        description="Print a rule's documentation: its name, default severity, what a finding "
        "of it means and what to do.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("rule", metavar="RULE", help="a rule id (AIR101) or name")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from airlock.rules import RULES
    from airlock.suggest import did_you_mean

    names = {name.lower(): r.id for r in RULES.values() for name in (r.id, r.name)}
    wanted = args.rule.strip()
    if wanted.lower() not in names:
        hint = did_you_mean(wanted, names) or " (docs/rules.md lists every rule)"
        print_error(f"unknown rule {wanted!r}{hint}")
        return USAGE_ERROR
    rule = RULES[names[wanted.lower()]]
    lines = [f"{rule.id}  {rule.name}", f"Default severity: {rule.default_severity.label}"]
    if rule.cwe:
        lines.append(f"Weakness: CWE-{rule.cwe} ({rule.cwe_url})")
    lines += ["", *textwrap.wrap(rule.summary, WIDTH), ""]
    lines += textwrap.wrap(f"What to do: {rule.advice}", WIDTH)
    lines += ["", f"Documentation: docs/rules.md#{rule.id.lower()}"]
    print("\n".join(lines))
    return 0
