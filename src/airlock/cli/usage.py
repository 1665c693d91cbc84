"""`airlock usage`: requests, tokens and latency per API key and model, from the registry."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from airlock.cli.errors import USAGE_ERROR


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "usage",
        help="report gateway usage per API key and model",
        description="Requests, errors, tokens and mean latency per key and model.",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from airlock.cli.keys import open_registry
    from airlock.gateway.usage import summarize

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    try:
        rows = summarize(registry.engine)
    finally:
        registry.close()
    if args.format == "json":
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    if not rows:
        print("no usage recorded yet")
        return 0
    print(
        f"{'key':<20} {'model':<24} {'requests':>8} {'errors':>6} {'prompt':>8} "
        f"{'completion':>10} {'mean ms':>8}"
    )
    for r in rows:
        print(
            f"{r.key:<20} {r.model or '(no model)':<24} {r.requests:>8} {r.errors:>6} "
            f"{r.prompt_tokens:>8} {r.completion_tokens:>10} {r.mean_latency_ms:>8.1f}"
        )
    return 0
