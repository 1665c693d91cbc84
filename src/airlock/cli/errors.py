"""How the CLI reports a problem: one line on stderr, never a traceback."""

from __future__ import annotations

import sys

USAGE_ERROR = 2


def print_error(message: str) -> None:
    print(f"airlock: error: {message}", file=sys.stderr)
