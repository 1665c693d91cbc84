"""Everything a request handler needs, built once per app (no module-level globals)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

from fastapi import Request

from airlock.gateway.audio_budget import AudioBudget
from airlock.gateway.auth import Authenticator, KeyInfo, KeyStore
from airlock.gateway.catalog import refusal
from airlock.gateway.config import GatewayConfig
from airlock.gateway.errors import Unauthorized
from airlock.gateway.image_queue import ImageQueue
from airlock.gateway.lifecycle import ModelManager
from airlock.gateway.limits import RateLimiter
from airlock.gateway.metrics import Metrics
from airlock.gateway.upstream import UpstreamClient
from airlock.gateway.usage import Usage, UsageRecorder


@dataclass
class Gateway:
    config: GatewayConfig
    manager: ModelManager
    auth: Authenticator
    usage: UsageRecorder | None
    upstream: UpstreamClient
    keys: KeyStore  # the registry's keys (readiness asks whether its database answers)
    metrics: Metrics = field(default_factory=Metrics)
    audio_budget: AudioBudget = field(init=False)
    image_queue: ImageQueue = field(init=False)
    limits: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.audio_budget = AudioBudget(self.config.audio_budget_bytes)
        self.image_queue = ImageQueue(self.config.max_queued_images)
        self.limits = RateLimiter(self.config.model_limits, self.config.shared)


@dataclass
class Call:
    """One authorized request to one model: records usage and metrics when it finishes."""

    gateway: Gateway
    key: KeyInfo | None
    model: str
    endpoint: str
    started: float = field(default_factory=time.perf_counter)
    done: bool = False
    recorded: bool = True  # a usage row too (not for requests without a valid key)

    def finish(self, status: int = 200, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        if self.done:
            return
        self.done = True
        elapsed = time.perf_counter() - self.started
        metrics = self.gateway.metrics
        metrics.requests.labels(self.endpoint, self.model, str(status)).inc()
        metrics.latency.labels(self.endpoint).observe(elapsed)
        metrics.tokens.labels(self.model, "prompt").inc(prompt_tokens)
        metrics.tokens.labels(self.model, "completion").inc(completion_tokens)
        metrics.loaded.set(len(self.gateway.manager.loaded))
        self.gateway.limits.charge(self.key, self.model, prompt_tokens + completion_tokens)
        if self.gateway.usage is not None and self.recorded:
            key_id = None if self.key is None else self.key.id
            self.gateway.usage.record(
                Usage(
                    key_id,
                    self.model,
                    self.endpoint,
                    status,
                    prompt_tokens,
                    completion_tokens,
                    elapsed * 1000.0,
                )
            )


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def authenticate(request: Request) -> KeyInfo | None:
    """FastAPI dependency: runs before the body is validated, so a bad key answers 401 first."""
    key = gateway_of(request).auth.authenticate(request.headers.get("authorization"))
    request.state.key = key
    return key


async def begin(request: Request, model: str, endpoint: str) -> Call:
    """Authorize the caller's key for `model` (404), take from its rate limits (429; 503 when
    they are shared and Redis is down) and start timing."""
    gateway = gateway_of(request)
    key: KeyInfo | None = request.state.key
    request.state.model = model  # for the access log, whatever the answer
    route = gateway.upstream.route(model)
    if route is not None:
        if route.managed:  # served from its admitted bytes: removed means gone, now
            refused = refusal(gateway.manager.admitted(model), needs_engine=False)
            if refused is not None:  # suspended by a re-vet: its engine answers no one
                raise refused
        gateway.auth.authorize(key, model)
    else:
        gateway.manager.admitted(model)  # 404, as for a model the key may not see
        gateway.auth.authorize(key, model)
    await gateway.limits.take(key, model)
    call = Call(gateway, key, model, endpoint)
    request.state.call = call  # the error handlers finish it with the error's status
    return call


def finish_error(request: Request, status: int) -> None:
    """Count an error answer in metrics and usage, whether or not the request got as far as
    `begin`: one refused before (no key, a body that does not parse) counts under its route's
    name, against its key when it has a valid one, and against its model only if that is one
    the key may use: a metrics label per made-up name would let a client grow them unbounded."""
    call: Call | None = getattr(request.state, "call", None)
    if call is None:
        gateway = gateway_of(request)
        if not hasattr(request.state, "key"):
            # Refused before the route's key check ran (a body that does not parse or is too
            # large is read first): the key is still the one to charge. Without a valid key
            # it is counted in metrics only.
            with contextlib.suppress(Unauthorized):
                request.state.key = gateway.auth.authenticate(request.headers.get("authorization"))
        key: KeyInfo | None = getattr(request.state, "key", None)
        named = getattr(request.state, "model", None)
        model = named if isinstance(named, str) and _serves(gateway, named) else ""
        call = Call(
            gateway,
            key,
            model if key is None or key.allows(model) else "",
            getattr(request.scope.get("route"), "name", "") or "other",
            recorded=hasattr(request.state, "key"),  # set once the key was authenticated
        )
        request.state.call = call
    call.finish(status)


def _serves(gateway: Gateway, model: str) -> bool:
    return gateway.upstream.serves(model) or model in gateway.manager.catalog_names()
