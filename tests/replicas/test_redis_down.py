"""Redis stopped mid-run: a replica that fails closed refuses rate-limited requests with a 503
that says why, one that fails open enforces limits alone; keys without limits are served by
both; readiness says Redis is down; both recover when it is back. On a Redis of the test's own
(never the machine's), over PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from airlock.gateway.auth import KeyStore
from airlock.registry.store import Registry

from .cluster import Cluster, RedisServer, postgres_database
from .test_replicas import post

pytest.importorskip("redis")


class Setup:
    def __init__(self, cluster: Cluster, redis: RedisServer, keys: KeyStore) -> None:
        self.cluster = cluster
        self.redis = redis
        self.keys = keys
        self.closed = ""
        self.open = ""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    with postgres_database() as url:
        cluster = Cluster(url, redis.url, tmp_path / "home")
        registry = Registry(url)
        try:
            cluster.start_upstream()
            found = Setup(cluster, redis, KeyStore(registry.engine))
            found.closed, _ = cluster.start_replica("--redis-down", "closed")
            found.open, _ = cluster.start_replica(AIRLOCK_REDIS_FAILURE="open")
            yield found
        finally:
            cluster.close()
            registry.close()
            redis.stop()


def ready(url: str) -> httpx.Response:
    return httpx.get(url.removesuffix("/v1") + "/health/ready")


def test_redis_stopped_mid_run_behaves_as_configured(setup: Setup) -> None:
    limited = setup.keys.create("limited", None, 1000)[0]
    few = setup.keys.create("few", None, 3)[0]
    free = setup.keys.create("free", None, None)[0]
    for url in (setup.closed, setup.open):
        assert post(url, limited).status_code == 200
        assert ready(url).json() == {
            "status": "ok",
            "checks": {"database": "ok", "redis": "ok", "changes": "ok"},
        }

    setup.redis.stop()
    refused = post(setup.closed, limited)
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "rate_limits_unavailable" and "Redis" in error["message"]
    assert post(setup.closed, free).status_code == 200  # no limit: nothing to share
    assert post(setup.open, limited).status_code == 200
    # Failing open, the replica keeps the limit alone: three, then 429.
    assert [post(setup.open, few).status_code for _ in range(4)] == [200, 200, 200, 429]
    for url, status in ((setup.closed, 503), (setup.open, 200)):  # failing open: still ready
        answer = ready(url)
        assert answer.status_code == status
        assert answer.json()["checks"]["redis"] != "ok"
        assert answer.json()["checks"]["database"] == "ok"

    setup.redis.start()  # the same port, empty
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        post(setup.closed, limited).status_code != 200 or ready(setup.closed).status_code != 200
    ):
        time.sleep(0.2)
    assert post(setup.closed, limited).status_code == 200
    assert ready(setup.closed).status_code == 200  # subscribed again to the change channel
