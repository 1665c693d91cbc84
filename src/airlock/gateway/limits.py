"""Rate limits: requests and tokens per minute, per API key and per model, as token buckets.

A bucket holds up to a minute's worth (`per_minute`) and refills continuously, so a key with
`--rpm 120` gets a burst of 120 and then 2 a second. A request needs one whole unit in each of
its buckets: a request bucket then gives one up; a token bucket gives up the request's prompt
and completion tokens once they are known (`charge`), and may go below zero, which holds the key
back until it has refilled (a long answer is paid for, not refused half way).

The buckets live in this process (`LocalBuckets`) or, with shared state configured, in Redis
(`RedisBuckets`): one Lua script checks and takes from all of a request's buckets at once, on
Redis's clock (TIME inside the script), so replicas neither race nor disagree about time. When
Redis does not answer, `SharedState.failure` decides: "closed" refuses requests that have a
limit (503), "open" falls back to this process's buckets."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from airlock.gateway.auth import KeyInfo
from airlock.gateway.config import ModelLimit, SharedState
from airlock.gateway.errors import LimitsUnavailable, TooManyRequests

if TYPE_CHECKING:
    from redis.asyncio import Redis

LOGGER = logging.getLogger(__name__)
# Redis must answer within this, or the failure mode applies: a rate check should never hold a
# request longer than a fraction of a second.
REDIS_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Bucket:
    id: str  # stable across replicas: "key:12:rpm", "model:llama:tpm"
    per_minute: int
    owner: str  # for the refusal: "API key 'app'", "model 'llama'"
    unit: Literal["requests", "tokens"]

    @property
    def admission_cost(self) -> int:
        return 1 if self.unit == "requests" else 0


@dataclass(frozen=True)
class Refusal:
    bucket: Bucket
    retry_after_s: float


def buckets_for(
    key: KeyInfo | None, model: str, model_limits: dict[str, ModelLimit]
) -> list[Bucket]:
    found = []
    if key is not None:
        owner = f"API key '{key.name}'"
        if key.rpm is not None:
            found.append(Bucket(f"key:{key.id}:rpm", key.rpm, owner, "requests"))
        if key.tpm is not None:
            found.append(Bucket(f"key:{key.id}:tpm", key.tpm, owner, "tokens"))
    limit = model_limits.get(model)
    if limit is not None:
        owner = f"model '{model}'"
        if limit.rpm is not None:
            found.append(Bucket(f"model:{model}:rpm", limit.rpm, owner, "requests"))
        if limit.tpm is not None:
            found.append(Bucket(f"model:{model}:tpm", limit.tpm, owner, "tokens"))
    return found


class LocalBuckets:
    """The buckets of this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._state: dict[str, tuple[float, float]] = {}  # bucket id -> (units, last refill)
        self._lock = threading.Lock()
        self._clock = clock

    def take(self, buckets: list[Bucket]) -> Refusal | None:
        with self._lock:
            now = self._clock()
            levels = [self._level(bucket, now) for bucket in buckets]
            for bucket, level in zip(buckets, levels, strict=True):
                if level < 1.0:
                    self._state[bucket.id] = (level, now)
                    return Refusal(bucket, (1.0 - level) * 60.0 / bucket.per_minute)
            for bucket, level in zip(buckets, levels, strict=True):
                self._state[bucket.id] = (level - bucket.admission_cost, now)
        return None

    def charge(self, buckets: list[Bucket], units: int) -> None:
        with self._lock:
            now = self._clock()
            for bucket in buckets:
                self._state[bucket.id] = (self._level(bucket, now) - units, now)

    def _level(self, bucket: Bucket, now: float) -> float:
        units, last = self._state.get(bucket.id, (float(bucket.per_minute), now))
        return min(float(bucket.per_minute), units + (now - last) * bucket.per_minute / 60.0)


# KEYS: the buckets. ARGV[1]: "take" (check every bucket, then take each one's admission cost)
# or "charge" (take ARGV[2] units from each). Then per bucket: per_minute, admission cost.
# Returns {0} when taken, or {index of the bucket that refused (from 1), ms to wait as text}.
# Levels are stored as text (Lua numbers are doubles; Redis would truncate a returned one).
_SCRIPT = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local take = ARGV[1] == 'take'
local levels = {}
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[1 + 2 * i])
  local state = redis.call('HMGET', key, 'level', 'at')
  local level = tonumber(state[1]) or cap
  local at = tonumber(state[2]) or now
  level = math.min(cap, level + math.max(0, now - at) * cap / 60000)
  if take and level < 1 then
    return {i, tostring((1 - level) * 60000 / cap)}
  end
  levels[i] = level
end
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[1 + 2 * i])
  local cost = take and tonumber(ARGV[2 + 2 * i]) or tonumber(ARGV[2])
  local level = levels[i] - cost
  redis.call('HSET', key, 'level', tostring(level), 'at', now)
  redis.call('PEXPIRE', key, math.ceil((cap - level) * 60000 / cap) + 1000)
end
return {0}
"""


class RedisBuckets:
    """The buckets in Redis, shared by every replica that uses the same `prefix`."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_SCRIPT)

    async def take(self, buckets: list[Bucket]) -> Refusal | None:
        answer = await self._run("take", 0, buckets)
        if int(answer[0]) == 0:
            return None
        return Refusal(buckets[int(answer[0]) - 1], float(answer[1]) / 1000.0)

    async def charge(self, buckets: list[Bucket], units: int) -> None:
        await self._run("charge", units, buckets)

    async def _run(self, mode: str, units: int, buckets: list[Bucket]) -> list[Any]:
        args: list[Any] = [mode, units]
        for bucket in buckets:
            args += [bucket.per_minute, bucket.admission_cost]
        keys = [f"{self._prefix}limit:{bucket.id}" for bucket in buckets]
        answer: list[Any] = await self._script(keys=keys, args=args)
        return answer


class RateLimiter:
    """What a request handler asks: `take` before the work (429, or 503 when the shared buckets
    are unreachable and the gateway fails closed), `charge` with the tokens after it."""

    def __init__(self, model_limits: Iterable[ModelLimit], shared: SharedState | None) -> None:
        self._model_limits = {limit.model: limit for limit in model_limits}
        self._local = LocalBuckets()
        self._shared = shared
        self._redis: RedisBuckets | None = None
        self._client: Redis | None = None
        self._charges: set[asyncio.Task[None]] = set()
        self._down = False  # Redis failed last time: logged once per outage, not per request
        if shared is not None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(
                shared.url,
                socket_connect_timeout=REDIS_TIMEOUT_S,
                socket_timeout=REDIS_TIMEOUT_S,
            )
            self._redis = RedisBuckets(self._client, shared.prefix)

    async def take(self, key: KeyInfo | None, model: str) -> None:
        buckets = buckets_for(key, model, self._model_limits)
        if not buckets:
            return
        refusal = await self._shared_call(lambda redis: redis.take(buckets))
        if refusal is _UNSHARED:
            refusal = self._local.take(buckets)
        if isinstance(refusal, Refusal):
            raise _too_many(refusal)

    def charge(self, key: KeyInfo | None, model: str, tokens: int) -> None:
        """Take `tokens` from the request's token buckets (in the background when shared)."""
        buckets = [b for b in buckets_for(key, model, self._model_limits) if b.unit == "tokens"]
        if not buckets or tokens <= 0:
            return
        if self._redis is None:
            self._local.charge(buckets, tokens)
            return

        async def charge() -> None:
            if await self._shared_call(lambda r: r.charge(buckets, tokens)) is _UNSHARED:
                self._local.charge(buckets, tokens)

        task = asyncio.get_running_loop().create_task(charge())
        self._charges.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._charges.discard)

    async def ping(self) -> None:
        """Raises when the shared buckets' Redis does not answer (readiness probes)."""
        if self._client is not None:
            await self._client.ping()

    async def close(self) -> None:
        if self._charges:
            await asyncio.wait(self._charges, timeout=REDIS_TIMEOUT_S * 2)
        if self._client is not None:
            await self._client.aclose()

    async def _shared_call(self, call: Callable[[RedisBuckets], Any]) -> Any:
        """The call's answer from Redis; `_UNSHARED` when there is no Redis or it failed and
        the gateway fails open; raises LimitsUnavailable when it failed and fails closed."""
        if self._redis is None or self._shared is None:
            return _UNSHARED
        from redis.exceptions import RedisError

        try:
            answer = await call(self._redis)
        except (RedisError, OSError) as exc:
            if not self._down:
                LOGGER.warning(
                    "rate limits: Redis does not answer (%s); failing %s", exc, self._shared.failure
                )
            self._down = True
            if self._shared.failure == "open":
                return _UNSHARED
            raise LimitsUnavailable(
                "Rate limits are shared through Redis, which does not answer; this gateway "
                "refuses rate-limited requests until it does (AIRLOCK_REDIS_FAILURE=closed)"
            ) from None
        if self._down:
            LOGGER.warning("rate limits: Redis answers again")
        self._down = False
        return answer


_UNSHARED: Any = object()


def _too_many(refusal: Refusal) -> TooManyRequests:
    bucket = refusal.bucket
    code = "rate_limit_exceeded" if bucket.unit == "requests" else "tokens_limit_exceeded"
    return TooManyRequests(
        f"{bucket.owner} is over its rate limit of {bucket.per_minute} {bucket.unit} per minute",
        retry_after=refusal.retry_after_s,
        code=code,
    )
