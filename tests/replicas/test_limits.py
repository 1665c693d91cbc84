"""The token buckets (gateway/limits.py): in this process on a clock the test moves, and the Lua
script in a Redis of the test's own; what happens when Redis does not answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airlock.gateway.auth import KeyInfo
from airlock.gateway.config import ModelLimit, SharedState
from airlock.gateway.errors import LimitsUnavailable, TooManyRequests
from airlock.gateway.limits import Bucket, LocalBuckets, RateLimiter, RedisBuckets, buckets_for

from .cluster import RedisServer, free_port

pytest.importorskip("redis")


def key(rpm: int | None = None, tpm: int | None = None, id_: int = 1) -> KeyInfo:
    return KeyInfo(id_, "app", "ak-xxxx", None, rpm, datetime.now(UTC), False, tpm=tpm)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_gives_a_minutes_worth_then_refills() -> None:
    clock = Clock()
    local = LocalBuckets(clock)
    buckets = buckets_for(key(rpm=60), "m", {})
    assert all(local.take(buckets) is None for _ in range(60))
    refusal = local.take(buckets)
    assert refusal is not None and refusal.retry_after_s == pytest.approx(1.0)
    clock.now += 1.0
    assert local.take(buckets) is None
    assert local.take(buckets) is not None


def test_a_refused_request_takes_from_none_of_its_buckets() -> None:
    local = LocalBuckets(Clock())
    limits = {"m": ModelLimit("m", rpm=1)}
    both = buckets_for(key(rpm=5), "m", limits)
    assert [b.id for b in both] == ["key:1:rpm", "model:m:rpm"]
    assert local.take(both) is None
    assert local.take(both) is not None  # the model's bucket is empty
    key_only = buckets_for(key(rpm=5), "other", limits)
    assert sum(local.take(key_only) is None for _ in range(10)) == 4  # 5 - the one that passed


def test_tokens_are_charged_after_the_answer_and_may_go_into_debt() -> None:
    clock = Clock()
    local = LocalBuckets(clock)
    tokens = buckets_for(key(tpm=60), "m", {})
    assert local.take(tokens) is None
    local.charge(tokens, 100)  # one long answer: paid for, not cut
    refusal = local.take(tokens)
    assert refusal is not None and refusal.retry_after_s == pytest.approx(41.0)
    clock.now += 41.0
    assert local.take(tokens) is None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def test_the_redis_script_takes_atomically_on_redis_clock(redis_server: RedisServer) -> None:
    from redis.asyncio import Redis

    async def scenario() -> None:
        client = Redis.from_url(redis_server.url)
        shared = RedisBuckets(client, "t:")
        requests = Bucket("key:1:rpm", 10, "API key 'app'", "requests")
        model = Bucket("model:m:rpm", 3, "model 'm'", "requests")
        taken = [await shared.take([requests, model]) for _ in range(5)]
        assert [r is None for r in taken] == [True, True, True, False, False]
        assert taken[3] is not None and taken[3].bucket == model
        assert 15 < taken[3].retry_after_s <= 20  # a third of a minute for one more
        # The refused requests took nothing from the key's bucket: 7 are left.
        assert sum([await shared.take([requests]) is None for _ in range(10)]) == 7
        tokens = Bucket("key:1:tpm", 100, "API key 'app'", "tokens")
        assert await shared.take([tokens]) is None
        await shared.charge([tokens], 250)
        debt = await shared.take([tokens])
        assert debt is not None and 89 < debt.retry_after_s <= 91  # 151 tokens at 100/min
        ttl = await client.pttl("t:limit:key:1:tpm")
        assert 150_000 < ttl <= 152_000  # gone once full again: 250 tokens at 100/min
        await client.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("failure", ["open", "closed"])
def test_redis_that_does_not_answer(failure: str) -> None:
    shared = SharedState(f"redis://127.0.0.1:{free_port()}/0", "t:", failure)  # type: ignore[arg-type]

    async def scenario() -> None:
        limiter = RateLimiter((), shared)
        await limiter.take(key(), "m")  # no limit: Redis is not asked
        if failure == "closed":
            with pytest.raises(LimitsUnavailable, match="Redis"):
                await limiter.take(key(rpm=2), "m")
        else:  # this replica's own buckets
            await limiter.take(key(rpm=2), "m")
            await limiter.take(key(rpm=2), "m")
            with pytest.raises(TooManyRequests):
                await limiter.take(key(rpm=2), "m")
        await limiter.close()

    asyncio.run(scenario())


def test_a_revocation_redis_does_not_take_is_recorded_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from airlock.cli import main

    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIRLOCK_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["keys", "create", "--name", "app", "--tpm", "1000"]) == 0
    assert "1000 tokens/min" in capsys.readouterr().out
    assert main(["keys", "revoke", "app"]) == 0
    captured = capsys.readouterr()
    assert "revoked 'app'" in captured.out
    (line,) = captured.err.splitlines()
    assert line.startswith("airlock: warning: recorded, but running gateways were not told")
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "\trevoked\t" in listing and "tpm=1000" in listing


def test_the_listener_drops_caches_on_each_message_and_each_reconnection(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database is the truth: after a message, and after a lost subscription (messages may
    have been missed), every cache is dropped."""
    from airlock.gateway.changes import ChangeListener, notify

    monkeypatch.setenv("AIRLOCK_REDIS_URL", redis_server.url)
    monkeypatch.setenv("AIRLOCK_REDIS_PREFIX", "t:")
    forgotten: list[float] = []

    async def until(done: Callable[[], bool]) -> None:
        for _ in range(300):
            if done():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("not within 15 s")

    async def scenario() -> None:
        listener = ChangeListener(SharedState(redis_server.url, "t:"), lambda: forgotten.append(1))
        listener.start()
        await until(listener.subscribed.is_set)
        assert len(forgotten) == 1  # on subscribing
        assert await asyncio.to_thread(notify, "key-revoked", "app") is None
        await until(lambda: len(forgotten) == 2)
        redis_server.stop()
        await until(lambda: not listener.subscribed.is_set())
        redis_server.start()
        await until(listener.subscribed.is_set)
        assert len(forgotten) == 3  # subscribed again: whatever was missed, caches are gone
        await listener.close()

    asyncio.run(scenario())
