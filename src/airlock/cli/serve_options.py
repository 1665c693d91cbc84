"""`airlock serve`'s options, in the groups `--help` shows them in; `serve --config` reads the
same options from a file (cli/serve_config.py walks this parser), so an option added here is
also a setting there."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from airlock.cli.options import duration, float_range, int_range, port

DESCRIPTION = """\
Serve admitted models through the OpenAI API (/v1/models, /v1/chat/completions,
/v1/completions, /v1/embeddings, /v1/rerank, /v1/audio/transcriptions and /translations,
/health, /metrics).
Only models recorded by `airlock admit` are served, and each is re-hashed against its admitted
manifest as it is loaded: a file that changed since admission refuses the load.

The same address is also a Hugging Face Hub mirror of the admitted models that have a repo id
(`airlock admit --repo-id org/name`): set HF_ENDPOINT to it and HF_TOKEN to an Airlock key, and
from_pretrained("org/name"), snapshot_download and SentenceTransformer download them, checked
against their manifests as they are served (docs/mirror.md)."""

EPILOG = """\
console:
  The web console is at / on the same port: people sign in with keys made by
  `airlock keys create --name NAME --role admin|reviewer|requester` (docs/console.md).

auth:
  On by default: create keys with `airlock keys create --name NAME`, send them as
  `Authorization: Bearer ak-...` (the openai client's api_key). --no-auth is refused on an
  address other than loopback unless --no-auth-on-network says so too.

re-vetting:
  --revet-every 24h re-vets every admitted version that often, in the background, with the
  policy --policy names (read again at each check: an edit is picked up) and today's rules; a
  version that no longer passes is suspended and refused (403 model_suspended). At start, and
  every minute, versions last vetted under another policy or rule-set digest are re-vetted at
  once. `airlock revet` does the same on demand (docs/revet.md).

replicas (docs/replicas.md):
  With AIRLOCK_REDIS_URL set (redis://[:password@]host:6379/0), rate limits are shared by
  every replica through Redis, and revoking a key or removing a model reaches them all at
  once. AIRLOCK_REDIS_PREFIX (default "airlock:") separates deployments sharing one Redis.

examples:
  airlock serve                                  # 127.0.0.1:8000
  airlock serve --config serve.toml --port 9000  # settings from a file; the command line wins
  airlock serve --revet-every 24h --policy our-policy.yaml
  airlock serve --host 0.0.0.0 --port 9000 --memory-budget 16
  airlock serve --upstream llama-70b=http://gpu-node:8000/v1   # a vLLM server behind Airlock
  airlock serve --request-root /srv/models/incoming   # the console accepts requests from there
  (the upstream's API key, if it needs one, comes from AIRLOCK_UPSTREAM_API_KEY)
  airlock serve --upstream big=http://gpu1:8000/v1 --upstream big=http://gpu2:8000/v1
  airlock serve --engine llama-8b=vllm           # Airlock starts vLLM on the verified copy
  airlock serve --engine tiny-chat --engine-replicas 2   # GGUF: llama.cpp, two processes

integrity:
  Embedded models and --engine models run the admitted bytes: each file is hashed while it is
  copied into a private folder, and the engine loads only that copy. An --upstream server loads
  its own weights, which Airlock never sees: /v1/models reports such a model as "integrity not
  enforced by Airlock". Engine options (tensor_parallel_size, max_model_len, dtype, ...) come
  from the model's record: `airlock models configure NAME --engine-option KEY=VALUE`.

install: pip install 'model-airlock[serve]'"""

UPSTREAM_KEY_ENV = "AIRLOCK_UPSTREAM_API_KEY"
# Upper bounds of the numeric options: far beyond any machine, low enough that a typo (an extra
# zero or three) is a usage error and not a crash once serving.
MAX_MEMORY_GB = 1024.0 * 1024  # 1 PiB
MAX_THREADS = 1024
MAX_QUEUE = 1_000_000
MAX_TIMEOUT_S = 24 * 3600.0
MAX_CONNECTIONS = 1_000_000
MAX_REVET_S = 366 * 24 * 3600.0
MAX_PER_MINUTE = 1_000_000_000
REDIS_FAILURE_ENV = "AIRLOCK_REDIS_FAILURE"
MAX_REPLICAS = 64


def add_options(parser: argparse.ArgumentParser) -> None:
    _network(parser.add_argument_group("listening and clients"))
    _embedded(parser.add_argument_group("embedded engines (models Airlock loads itself)"))
    _elsewhere(parser.add_argument_group("upstream servers and managed engine processes"))
    _limits(parser.add_argument_group("rate limits shared by replicas"))
    _review(parser.add_argument_group("re-vetting and the console"))


def _network(group: Any) -> None:
    group.add_argument("--host", default="127.0.0.1", help="address to listen on")
    group.add_argument("--port", type=port, default=8000, help="port, 1 to 65535 (default 8000)")
    group.add_argument(
        "--no-auth",
        action="store_true",
        help="accept requests without an API key (local experiments only; loopback addresses "
        "only, unless --no-auth-on-network)",
    )
    group.add_argument(
        "--no-auth-on-network",
        action="store_true",
        help="with --no-auth, listen on an address other than loopback anyway: anyone who can "
        "reach it can use every model",
    )
    group.add_argument(
        "--header-timeout",
        type=duration(MAX_TIMEOUT_S),
        default=10.0,
        metavar="SECONDS",
        help="a request's headers must be complete this long after the connection opens or "
        "the previous answer, else it is closed (default 10)",
    )
    group.add_argument(
        "--body-timeout",
        type=duration(MAX_TIMEOUT_S),
        default=60.0,
        metavar="SECONDS",
        help="a request's body must be complete this long after its headers, else 408 (default 60)",
    )
    group.add_argument(
        "--max-connections",
        type=int_range(1, MAX_CONNECTIONS),
        default=1000,
        metavar="N",
        help="open connections in all; beyond them 503 and closed (default 1000)",
    )
    group.add_argument(
        "--max-connections-per-client",
        type=int_range(1, MAX_CONNECTIONS),
        default=100,
        metavar="N",
        help="open connections per client address (IPv6: per /64); beyond them 429 and "
        "closed (default 100; behind a proxy every client has the proxy's address)",
    )
    group.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="access log on stderr, one line per request: text (default) or one JSON object",
    )
    group.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help='read options from a TOML file (`port = 9000`, `upstream = ["NAME=URL"]`, '
        "`${VAR}` for environment variables); options on the command line win",
    )


def _embedded(group: Any) -> None:
    group.add_argument(
        "--memory-budget",
        type=float_range(0, MAX_MEMORY_GB),
        default=8.0,
        metavar="GB",
        help="weights kept in memory; least recently used models are unloaded beyond it "
        "(default 8)",
    )
    group.add_argument(
        "--torch-threads",
        type=int_range(1, MAX_THREADS),
        default=1,
        metavar="N",
        help="torch threads per model worker (default 1: one busy thread per core is fastest)",
    )
    group.add_argument(
        "--model-workers",
        type=int_range(1, MAX_THREADS),
        default=None,
        metavar="N",
        help="batches of one model that run at once (default: one per CPU core)",
    )
    group.add_argument(
        "--stock-kernels",
        action="store_true",
        help="use PyTorch's stock matrix multiplies instead of prepacked oneDNN ones",
    )
    group.add_argument(
        "--queue-size",
        type=int_range(1, MAX_QUEUE),
        default=64,
        metavar="N",
        help="requests waiting per model before 429 (default 64)",
    )
    group.add_argument(
        "--timeout",
        type=duration(MAX_TIMEOUT_S),
        default=120.0,
        metavar="SECONDS",
        help="per-request time limit: seconds, or with s, m or h (default 120)",
    )
    group.add_argument(
        "--audio-budget",
        type=float_range(0, MAX_MEMORY_GB * 1024),
        default=256.0,
        metavar="MB",
        help="uploads and decoding state all transcriptions may hold at once, in MiB; beyond "
        "it 429 (default 256: six 25 MiB uploads)",
    )
    group.add_argument(
        "--load-timeout",
        type=duration(MAX_TIMEOUT_S),
        default=600.0,
        metavar="SECONDS",
        help="time limit to verify a model's files and start its engine: seconds, or with s, m "
        "or h (default 600)",
    )


def _elsewhere(group: Any) -> None:
    group.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="serve NAME from an OpenAI-compatible server at URL (repeatable)",
    )
    group.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="NAME[=KIND]",
        help="serve the admitted model NAME from an engine process Airlock starts on its "
        "verified copy (repeatable); KIND: vllm, llama.cpp, or auto (default: llama.cpp for a "
        "GGUF model, else vllm)",
    )
    group.add_argument(
        "--engine-replicas",
        type=int_range(1, MAX_REPLICAS),
        default=1,
        metavar="N",
        help="engine processes per --engine model, routed least-busy with prompt-prefix "
        "affinity (default 1; vLLM replicas get disjoint GPUs)",
    )


def _limits(group: Any) -> None:
    group.add_argument(
        "--model-rpm",
        action="append",
        default=[],
        metavar="NAME=N",
        help="requests per minute for model NAME, all keys together (repeatable)",
    )
    group.add_argument(
        "--model-tpm",
        action="append",
        default=[],
        metavar="NAME=N",
        help="prompt and completion tokens per minute for model NAME, all keys together "
        "(repeatable)",
    )
    group.add_argument(
        "--redis-down",
        choices=("open", "closed"),
        default=os.environ.get(REDIS_FAILURE_ENV) or "closed",
        help="with AIRLOCK_REDIS_URL, when Redis does not answer: closed refuses requests that "
        "have a rate limit (503), open enforces limits in each replica alone (default: "
        f"{REDIS_FAILURE_ENV}, else closed)",
    )


def _review(group: Any) -> None:
    group.add_argument(
        "--revet-every",
        type=duration(MAX_REVET_S),
        default=None,
        metavar="DURATION",
        help="re-vet admitted models this often and suspend those that no longer pass: "
        "seconds, or with s, m, h or d (e.g. 30m, 24h, 7d); also at start when the policy or "
        "rule set changed since their last vet",
    )
    group.add_argument(
        "--policy",
        metavar="FILE",
        help="the policy YAML that re-vetting (--revet-every) and the console's decisions apply "
        "(default: the shipped one)",
    )
    group.add_argument(
        "--request-root",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder on this server people may request models from in the console "
        "(repeatable; default none: only repo ids already in the Hugging Face cache)",
    )
