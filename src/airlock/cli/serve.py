"""`airlock serve`: the OpenAI-compatible gateway over the registry's admitted models."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.serve_options import (
    DESCRIPTION,
    EPILOG,
    MAX_PER_MINUTE,
    REDIS_FAILURE_ENV,
    UPSTREAM_KEY_ENV,
    add_options,
)

if TYPE_CHECKING:
    from airlock.gateway.config import GatewayConfig, ManagedEngine
    from airlock.policy.model import Policy
    from airlock.registry.store import Registry


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve admitted models through an OpenAI-compatible API",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.config is not None:
        return _run_with_config(args)
    problem = _open_to_all(args)
    if problem is not None:
        print_error(problem)
        return USAGE_ERROR
    try:
        import uvicorn

        from airlock.gateway.app import create_app
        from airlock.mirror.mount import mount as mount_mirror
    except ImportError as exc:
        print_error(
            f"`airlock serve` needs the [serve] extra ({exc.name} is missing): "
            "pip install 'model-airlock[serve]'"
        )
        return USAGE_ERROR
    config = _gateway_config(args)
    if isinstance(config, str):
        print_error(config)
        return USAGE_ERROR
    roots = tuple(Path(r) for r in args.request_root)
    missing = [str(r) for r in roots if not r.is_dir()]
    if missing:
        print_error(f"--request-root {missing[0]}: not a folder on this server")
        return USAGE_ERROR
    # No hub at run time: models come from the registry's verified copies only.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # A server's log holds its lines, not progress bars (gateway/quiet.py does the libraries').
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from airlock.policy.schema import PolicyError, default_policy, load_policy

    def today_policy() -> Policy:
        return load_policy(args.policy) if args.policy else default_policy()

    try:
        today_policy()  # a policy that does not load is a usage error now, not a log line later
    except PolicyError as exc:
        print_error(str(exc))
        return USAGE_ERROR
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

    from airlock.console.mount import mount

    mount(app, registry, policy=today_policy(), request_roots=roots)
    mount_mirror(app, registry, config.scratch_dir)  # the Hugging Face Hub API (docs/mirror.md)
    _announce(args, config, registry, catalog.names())
    from airlock.gateway.connections import server_options

    with _access_log_on_stderr(), _revetting(args.revet_every, registry, today_policy):
        uvicorn.run(app, **server_options(config))
    return 0


def _gateway_config(args: argparse.Namespace) -> GatewayConfig | str:
    """The gateway's settings from the command line, or why they are not usable."""
    from airlock.gateway.config import GIB, GatewayConfig, Upstream

    engines = _engines(args.engine, args.engine_replicas, args.upstream)
    if isinstance(engines, str):
        return engines

    upstreams = []
    for spec in args.upstream:
        name, sep, url = spec.partition("=")
        problem = None if sep and name.strip() else "no NAME= before the URL"
        problem = problem or _bad_url(url)
        if problem:
            return f"--upstream {spec!r}: {problem}; expected NAME=http(s)://host:port/v1"
        upstreams.append(Upstream(name, url, os.environ.get(UPSTREAM_KEY_ENV)))
    model_limits = _model_limits(args)
    if isinstance(model_limits, str):
        return model_limits
    shared = _shared_state(args)
    if isinstance(shared, str):
        return shared
    workers = args.model_workers
    return GatewayConfig(
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
        model_limits=model_limits,
        shared=shared,
        **({} if workers is None else {"model_workers": workers}),
    )


def _announce(
    args: argparse.Namespace, config: GatewayConfig, registry: Registry, names: list[str]
) -> None:
    """What this server serves, and what it will not and why: said at start, not at the first
    request."""
    print(
        f"airlock: serving {len(names)} admitted model(s) on http://{args.host}:{args.port}/v1"
        + (f": {', '.join(names)}" if names else ""),
        flush=True,
    )
    print(f"airlock: console on http://{args.host}:{args.port}/", flush=True)
    if (shared := config.shared) is not None:
        print(
            f"airlock: rate limits and changes shared through Redis (prefix {shared.prefix!r}; "
            f"when Redis is down: fail {shared.failure})",
            flush=True,
        )
    managed = {e.name for e in config.engines}
    for record in registry.latest():
        # Decided at admission or by a re-vet: say so now, not at the first request.
        suspended = record.suspended_reason is not None
        if suspended or (record.engine is None and record.name not in managed):
            reason = record.serving.removeprefix("not servable: ")
            print(f"airlock: not serving {record.name}: {reason}", flush=True)
    for engine in config.engines:
        if registry.get(engine.name) is None:
            print(f"airlock: warning: --engine {engine.name}: not admitted (yet)", flush=True)
        print(
            f"airlock: {engine.name}: {engine.replicas} {engine.kind} engine process(es) on its "
            "verified copy (integrity enforced by Airlock)",
            flush=True,
        )
    for name in sorted({u.name for u in config.upstreams}):
        urls = ", ".join(u.url for u in config.upstreams if u.name == name)
        print(f"airlock: {name}: upstream {urls} (integrity not enforced by Airlock)", flush=True)


def _run_with_config(args: argparse.Namespace) -> int:
    """Parse the file's settings and the command line again, as one command line."""
    from airlock.cli.serve_config import ConfigError, merged_arguments

    parser = _parser()
    typed: list[str] = args.argv
    cli = typed[typed.index("serve") + 1 :]
    try:
        merged = merged_arguments(args.config, parser, cli)
    except ConfigError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    again = parser.parse_args(merged)
    again.config = None
    return run(again)


def _parser() -> argparse.ArgumentParser:
    """A fresh `airlock serve` parser: the one the command line was parsed with."""
    from airlock.cli import build_parser

    top = build_parser(["serve"])
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = commands.choices["serve"]
    return parser


def _model_limits(args: argparse.Namespace) -> tuple[Any, ...] | str:
    """--model-rpm/--model-tpm NAME=N as one limit per model, or why they cannot be."""
    from airlock.gateway.config import ModelLimit

    limits: dict[str, dict[str, int]] = {}
    for option, specs in (("rpm", args.model_rpm), ("tpm", args.model_tpm)):
        for spec in specs:
            name, sep, number = spec.rpartition("=")
            if not sep or not name.strip() or not number.isdigit():
                return f"--model-{option} {spec!r}: expected NAME=N, e.g. llama=600"
            if not 1 <= int(number) <= MAX_PER_MINUTE:
                return f"--model-{option} {spec!r}: N must be from 1 to {MAX_PER_MINUTE:,}"
            limits.setdefault(name.strip(), {})[option] = int(number)
    return tuple(ModelLimit(name, **per) for name, per in limits.items())


def _shared_state(args: argparse.Namespace) -> Any:
    """Redis from AIRLOCK_REDIS_URL (a secret: never an option, never printed), None, or why
    the URL cannot be used."""
    from airlock.gateway.changes import DEFAULT_PREFIX, REDIS_PREFIX_ENV, REDIS_URL_ENV
    from airlock.gateway.config import SharedState

    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        return None
    if args.redis_down not in ("open", "closed"):  # a default from the environment
        return f"{REDIS_FAILURE_ENV} must be open or closed, not {args.redis_down!r}"
    if url.partition("://")[0] not in ("redis", "rediss", "unix"):
        return f"{REDIS_URL_ENV} must start with redis://, rediss:// or unix://"
    import importlib.util

    if importlib.util.find_spec("redis") is None:
        return (
            f"{REDIS_URL_ENV} is set, but the redis package is not installed: "
            "pip install 'model-airlock[scale]'"
        )
    prefix = os.environ.get(REDIS_PREFIX_ENV) or DEFAULT_PREFIX
    return SharedState(url, prefix, args.redis_down)


@contextmanager
def _revetting(
    every_s: float | None, registry: Registry, today_policy: Callable[[], Policy]
) -> Iterator[None]:
    """The re-vet schedule while the server runs (or, without one, a warning about versions
    vetted under another rule set)."""

    def log(line: str) -> None:
        print(f"airlock: revet: {line}", flush=True)

    if every_s is None:
        from airlock.ruleset import ruleset_digest

        rules = ruleset_digest()
        stale = [r for r in registry.versions() if r.vetted_ruleset_digest != rules]
        if stale:
            log(
                f"{len(stale)} admitted version(s) were last vetted under another rule set: "
                "run `airlock revet --all`, or serve with --revet-every"
            )
        yield
        return
    from airlock.revet.schedule import RevetSchedule

    schedule = RevetSchedule(registry, today_policy, every_s, log)
    schedule.start()
    try:
        yield
    finally:
        schedule.stop()


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
