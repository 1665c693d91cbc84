"""`airlock serve`: the OpenAI-compatible gateway over the registry's admitted models."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import duration, float_range, int_range, port

if TYPE_CHECKING:
    from airlock.gateway.config import ManagedEngine

_DESCRIPTION = """\
Serve admitted models through the OpenAI API (/v1/models, /v1/chat/completions,
/v1/completions, /v1/embeddings, /v1/rerank, /v1/audio/transcriptions and /translations,
/health, /metrics).
Only models recorded by `airlock admit` are served, and each is re-hashed against its admitted
manifest as it is loaded: a file that changed since admission refuses the load."""

_EPILOG = """\
auth:
  On by default: create keys with `airlock keys create --name NAME`, send them as
  `Authorization: Bearer ak-...` (the openai client's api_key). --no-auth is refused on an
  address other than loopback unless --no-auth-on-network says so too.

examples:
  airlock serve                                  # 127.0.0.1:8000
  airlock serve --host 0.0.0.0 --port 9000 --memory-budget 16
  airlock serve --upstream llama-70b=http://gpu-node:8000/v1   # a vLLM server behind Airlock
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
MAX_REPLICAS = 64


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve admitted models through an OpenAI-compatible API",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port, default=8000, help="port, 1 to 65535 (default 8000)")
    parser.add_argument(
        "--memory-budget",
        type=float_range(0, MAX_MEMORY_GB),
        default=8.0,
        metavar="GB",
        help="weights kept in memory; least recently used models are unloaded beyond it "
        "(default 8)",
    )
    parser.add_argument(
        "--torch-threads",
        type=int_range(1, MAX_THREADS),
        default=1,
        metavar="N",
        help="torch threads per model worker (default 1: one busy thread per core is fastest)",
    )
    parser.add_argument(
        "--model-workers",
        type=int_range(1, MAX_THREADS),
        default=None,
        metavar="N",
        help="batches of one model that run at once (default: one per CPU core)",
    )
    parser.add_argument(
        "--stock-kernels",
        action="store_true",
        help="use PyTorch's stock matrix multiplies instead of prepacked oneDNN ones",
    )
    parser.add_argument(
        "--queue-size",
        type=int_range(1, MAX_QUEUE),
        default=64,
        metavar="N",
        help="requests waiting per model before 429 (default 64)",
    )
    parser.add_argument(
        "--timeout",
        type=duration(MAX_TIMEOUT_S),
        default=120.0,
        metavar="SECONDS",
        help="per-request time limit: seconds, or with s, m or h (default 120)",
    )
    parser.add_argument(
        "--audio-budget",
        type=float_range(0, MAX_MEMORY_GB * 1024),
        default=256.0,
        metavar="MB",
        help="uploads and decoding state all transcriptions may hold at once, in MiB; beyond "
        "it 429 (default 256: six 25 MiB uploads)",
    )
    parser.add_argument(
        "--header-timeout",
        type=duration(MAX_TIMEOUT_S),
        default=10.0,
        metavar="SECONDS",
        help="a request's headers must be complete this long after the connection opens or "
        "the previous answer, else it is closed (default 10)",
    )
    parser.add_argument(
        "--body-timeout",
        type=duration(MAX_TIMEOUT_S),
        default=60.0,
        metavar="SECONDS",
        help="a request's body must be complete this long after its headers, else 408 (default 60)",
    )
    parser.add_argument(
        "--max-connections",
        type=int_range(1, MAX_CONNECTIONS),
        default=1000,
        metavar="N",
        help="open connections in all; beyond them 503 and closed (default 1000)",
    )
    parser.add_argument(
        "--max-connections-per-client",
        type=int_range(1, MAX_CONNECTIONS),
        default=100,
        metavar="N",
        help="open connections per client address (IPv6: per /64); beyond them 429 and "
        "closed (default 100; behind a proxy every client has the proxy's address)",
    )
    parser.add_argument(
        "--load-timeout",
        type=duration(MAX_TIMEOUT_S),
        default=600.0,
        metavar="SECONDS",
        help="time limit to verify a model's files and start its engine: seconds, or with s, m "
        "or h (default 600)",
    )
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="serve NAME from an OpenAI-compatible server at URL (repeatable)",
    )
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="NAME[=KIND]",
        help="serve the admitted model NAME from an engine process Airlock starts on its "
        "verified copy (repeatable); KIND: vllm, llama.cpp, or auto (default: llama.cpp for a "
        "GGUF model, else vllm)",
    )
    parser.add_argument(
        "--engine-replicas",
        type=int_range(1, MAX_REPLICAS),
        default=1,
        metavar="N",
        help="engine processes per --engine model, routed least-busy with prompt-prefix "
        "affinity (default 1; vLLM replicas get disjoint GPUs)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="access log on stderr, one line per request: text (default) or one JSON object",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="accept requests without an API key (local experiments only; loopback addresses "
        "only, unless --no-auth-on-network)",
    )
    parser.add_argument(
        "--no-auth-on-network",
        action="store_true",
        help="with --no-auth, listen on an address other than loopback anyway: anyone who can "
        "reach it can use every model",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    problem = _open_to_all(args)
    if problem is not None:
        print_error(problem)
        return USAGE_ERROR
    try:
        import uvicorn

        from airlock.gateway.app import create_app
    except ImportError as exc:
        print_error(
            f"`airlock serve` needs the [serve] extra ({exc.name} is missing): "
            "pip install 'model-airlock[serve]'"
        )
        return USAGE_ERROR
    from airlock.gateway.config import GIB, GatewayConfig, Upstream

    engines = _engines(args.engine, args.engine_replicas, args.upstream)
    if isinstance(engines, str):
        print_error(engines)
        return USAGE_ERROR

    upstreams = []
    for spec in args.upstream:
        name, sep, url = spec.partition("=")
        problem = None if sep and name.strip() else "no NAME= before the URL"
        problem = problem or _bad_url(url)
        if problem:
            print_error(f"--upstream {spec!r}: {problem}; expected NAME=http(s)://host:port/v1")
            return USAGE_ERROR
        upstreams.append(Upstream(name, url, os.environ.get(UPSTREAM_KEY_ENV)))
    workers = args.model_workers
    # No hub at run time: models come from the registry's verified copies only.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # A server's log holds its lines, not progress bars (gateway/quiet.py does the libraries').
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    config = GatewayConfig(
        host=args.host,
        port=args.port,
        auth_required=not args.no_auth,
        memory_budget_bytes=int(args.memory_budget * GIB),
        torch_threads=args.torch_threads,
        queue_size=args.queue_size,
        request_timeout_s=args.timeout,
        load_timeout_s=args.load_timeout,
        upstreams=tuple(upstreams),
        engines=engines,
        prepack_kernels=not args.stock_kernels,
        log_format=args.log_format,
        audio_budget_bytes=int(args.audio_budget * 1024 * 1024),
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        max_connections=args.max_connections,
        max_connections_per_client=args.max_connections_per_client,
        **({} if workers is None else {"model_workers": workers}),
    )
    from airlock.cli.keys import open_registry

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    from airlock.gateway.auth import KeyStore
    from airlock.gateway.registry_catalog import RegistryCatalog
    from airlock.gateway.usage import UsageRecorder

    problem = _unbindable(args.host, args.port)
    if problem is not None:
        print_error(f"cannot listen on {args.host}:{args.port}: {problem}")
        return USAGE_ERROR
    if args.no_auth:
        print(
            f"airlock: warning: --no-auth: anyone who can reach {args.host}:{args.port} can use "
            "every model without an API key",
            file=sys.stderr,
            flush=True,
        )
    catalog = RegistryCatalog(registry)
    app = create_app(config, catalog, KeyStore(registry.engine), UsageRecorder(registry.engine))
    names = catalog.names()
    print(
        f"airlock: serving {len(names)} admitted model(s) on http://{args.host}:{args.port}/v1"
        + (f": {', '.join(names)}" if names else ""),
        flush=True,
    )
    managed = {e.name for e in engines}
    for record in registry.latest():
        # Decided at admission: say so now, not at the first request.
        if record.engine is None and record.name not in managed:
            print(f"airlock: not serving {record.name}: {record.engine_reason}", flush=True)
    for engine in engines:
        if registry.get(engine.name) is None:
            print(f"airlock: warning: --engine {engine.name}: not admitted (yet)", flush=True)
        print(
            f"airlock: {engine.name}: {engine.replicas} {engine.kind} engine process(es) on its "
            "verified copy (integrity enforced by Airlock)",
            flush=True,
        )
    for name in sorted({u.name for u in upstreams}):
        urls = ", ".join(u.url for u in upstreams if u.name == name)
        print(f"airlock: {name}: upstream {urls} (integrity not enforced by Airlock)", flush=True)
    from airlock.gateway.connections import server_options

    with _access_log_on_stderr():
        uvicorn.run(app, **server_options(config))
    return 0


@contextmanager
def _access_log_on_stderr() -> Iterator[None]:
    """The access lines as they are (already formatted), on stderr, while the server runs."""
    from airlock.gateway.access_log import LOGGER

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.propagate = True


def _open_to_all(args: argparse.Namespace) -> str | None:
    """Why --no-auth (or --no-auth-on-network) cannot be used as given, or None."""
    if args.no_auth_on_network and not args.no_auth:
        return "--no-auth-on-network goes with --no-auth"
    if args.no_auth and not args.no_auth_on_network and not _loopback(args.host):
        return (
            f"--no-auth on --host {args.host}, which is not a loopback address, lets anyone who "
            "can reach it use every model without a key; add --no-auth-on-network to do so anyway"
        )
    return None


def _loopback(host: str) -> bool:
    """Whether every address `host` names is this machine's loopback (127.0.0.0/8, ::1)."""
    import ipaddress

    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses
    )


def _engines(
    specs: list[str], replicas: int, upstreams: list[str]
) -> tuple[ManagedEngine, ...] | str:
    """The --engine models as ManagedEngine entries, or why they cannot be (one line)."""
    from airlock import engine_options
    from airlock.gateway.config import ManagedEngine

    kinds = ["auto", *engine_options.kinds()]
    upstream_names = {spec.partition("=")[0] for spec in upstreams}
    engines: list[ManagedEngine] = []
    for spec in specs:
        name, _, kind = spec.partition("=")
        kind = kind or "auto"
        if not name.strip():
            return f"--engine {spec!r}: expected NAME or NAME=KIND"
        if kind not in kinds:
            return f"--engine {spec!r}: unknown engine {kind!r}; expected one of {', '.join(kinds)}"
        if name in upstream_names or any(e.name == name for e in engines):
            return f"--engine {spec!r}: {name} is already served (by --upstream or --engine)"
        engines.append(ManagedEngine(name, kind, replicas))
    return tuple(engines)


def _bad_url(url: str) -> str | None:
    """Why `url` cannot be an upstream's base URL, or None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of 0-65535 or not a number
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "the URL must start with http:// or https://"
    if not parts.hostname:
        return "the URL has no host"
    return None


def _unbindable(host: str, port: int) -> str | None:
    """Why the address cannot be listened on (in use, not this machine's), or None; checked
    before anything is printed as serving, so the error is one clear line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
