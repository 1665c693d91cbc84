"""Changes every replica must see at once: a key revoked, a model admitted, suspended or removed.

The command that changes the registry commits first, then `notify` publishes one message on a
Redis channel; each gateway's `ChangeListener` drops its caches (keys, the catalog) when one
arrives, so the next request reads the database. The message says what changed only for the
log: the database is the truth, and a listener that was disconnected (it may have missed
messages) drops every cache again once it is subscribed anew. Without Redis, caches expire on
their own (the catalog after 2 s, keys after 5 s)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from typing import Literal

from airlock.gateway.config import SharedState

LOGGER = logging.getLogger(__name__)
REDIS_URL_ENV = "AIRLOCK_REDIS_URL"
REDIS_PREFIX_ENV = "AIRLOCK_REDIS_PREFIX"  # keys and channel names start with it
DEFAULT_PREFIX = "airlock:"
Kind = Literal["key-revoked", "model-admitted", "model-suspended", "model-removed"]
_RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # waits between reconnections, the last one repeated
_PUBLISH_TIMEOUT_S = 2.0


def channel(prefix: str) -> str:
    return f"{prefix}changes"


def notify(kind: Kind, subject: str) -> str | None:
    """Tell every replica (after the database commit) that `subject` changed. Without
    AIRLOCK_REDIS_URL there is nothing to tell. Returns why it could not be told, or None."""
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        return None
    try:
        from redis import Redis
        from redis.exceptions import RedisError
    except ImportError:
        return f"{REDIS_URL_ENV} is set, but the redis package is not installed ([scale] extra)"
    prefix = os.environ.get(REDIS_PREFIX_ENV) or DEFAULT_PREFIX
    message = json.dumps({"kind": kind, "subject": subject})
    try:
        with Redis.from_url(
            url, socket_connect_timeout=_PUBLISH_TIMEOUT_S, socket_timeout=_PUBLISH_TIMEOUT_S
        ) as client:
            client.publish(channel(prefix), message)
    except (RedisError, OSError) as exc:
        return f"Redis did not take the message ({exc})"
    return None


class ChangeListener:
    """Subscribes to the channel for as long as the gateway runs; calls `forget` on each message
    and on each (re)subscription."""

    def __init__(self, shared: SharedState, forget: Callable[[], None]) -> None:
        self._shared = shared
        self._forget = forget
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()  # for readiness: set while subscribed

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        failures = 0
        while True:
            # No read timeout: a subscriber waits for messages; a dead link shows in the pings.
            client = Redis.from_url(
                self._shared.url, socket_connect_timeout=1.0, health_check_interval=5
            )
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(channel(self._shared.prefix))
                    self._forget()  # messages may have been missed while not subscribed
                    self.subscribed.set()
                    if failures:
                        LOGGER.warning("changes: subscribed again; caches dropped")
                    failures = 0
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=5.0
                        )
                        if message is None:
                            await pubsub.ping()  # a link that died quietly raises here
                        elif message.get("type") == "message":
                            self._forget()
                            LOGGER.info("changes: %s", message.get("data", b"").decode())
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                if failures == 0:
                    LOGGER.warning("changes: Redis subscription lost (%s); reconnecting", exc)
                await asyncio.sleep(_RETRY_S[min(failures, len(_RETRY_S) - 1)])
                failures += 1
            finally:
                await client.aclose()
