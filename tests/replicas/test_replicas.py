"""Three `airlock serve` replicas on 127.0.0.1 over one PostgreSQL database and the machine's
Redis (keys under a prefix of the test's own): limits hold in total across them, a revoked key
fails on all of them within a second, and `kill -9` of one under load loses no usage row."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airlock.gateway.auth import KeyStore
from airlock.registry.gateway_tables import UsageRecord
from airlock.registry.store import Registry

from .cluster import SHARED_REDIS_URL, Cluster, postgres_database
from .fake_openai import COMPLETION_TOKENS, PROMPT_TOKENS

pytest.importorskip("redis")
BODY = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}


class Replicas:
    def __init__(self, cluster: Cluster, registry: Registry) -> None:
        self.cluster = cluster
        self.registry = registry
        self.keys = KeyStore(registry.engine)
        self.urls: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    def key(self, name: str, **limits: int) -> tuple[str, int]:
        token, info = self.keys.create(name, None, limits.get("rpm"), tpm=limits.get("tpm"))
        return token, info.id


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    import redis

    try:
        redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {SHARED_REDIS_URL}: {exc}")
    with postgres_database() as url:
        home = tmp_path_factory.mktemp("replicas-home")
        cluster = Cluster(url, SHARED_REDIS_URL, home)
        registry = Registry(url)  # migrates once, before the replicas start
        try:
            cluster.start_upstream()
            found = Replicas(cluster, registry)
            for _ in range(3):
                url_, process = cluster.start_replica("--model-rpm", "limited=30")
                found.urls.append(url_)
                found.processes.append(process)
            yield found
        finally:
            cluster.close()
            registry.close()


def post(url: str, token: str, model: str = "fake") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{url}/chat/completions", json={**BODY, "model": model}, headers=headers)


def spread(urls: list[str], token: str, n: int, model: str = "fake") -> list[httpx.Response]:
    """n requests, round robin over the replicas, 12 at a time."""
    with ThreadPoolExecutor(12) as pool:
        return list(pool.map(lambda i: post(urls[i % len(urls)], token, model), range(n)))


def test_a_key_gets_its_limit_in_total_across_replicas(replicas: Replicas) -> None:
    token, _ = replicas.key("rpm-120", rpm=120)
    started = time.monotonic()
    answers = spread(replicas.urls, token, 300)
    elapsed = time.monotonic() - started
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) == {200, 429}, statuses
    # The burst (a minute's worth) plus what refilled while the requests ran (2 a second);
    # each replica alone would have let 120 through, 360 in all.
    assert 120 <= statuses[200] <= 120 + 2 * elapsed + 1, (statuses, elapsed)
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(refused.headers["retry-after"]) >= 1


def test_a_models_limit_holds_for_all_keys_together(replicas: Replicas) -> None:
    first, _ = replicas.key("model-limit-a")
    second, _ = replicas.key("model-limit-b")
    started = time.monotonic()
    answers = spread(replicas.urls, first, 40, "limited") + spread(
        replicas.urls, second, 40, "limited"
    )
    elapsed = time.monotonic() - started
    ok = sum(a.status_code == 200 for a in answers)
    assert 30 <= ok <= 30 + 0.5 * elapsed + 1, (ok, elapsed)
    refused = next(a for a in answers if a.status_code == 429)
    assert "model 'limited'" in refused.json()["error"]["message"]


def test_tokens_per_minute_are_charged_across_replicas(replicas: Replicas) -> None:
    per_request = PROMPT_TOKENS + COMPLETION_TOKENS  # 8
    token, _ = replicas.key("tpm-40", tpm=40)
    answers = []
    started = time.monotonic()
    for i in range(12):  # one at a time, so each answer's tokens are charged before the next
        answers.append(post(replicas.urls[i % 3], token))
        time.sleep(0.05)
    ok = sum(a.status_code == 200 for a in answers)
    # 40 tokens: five requests of 8 empty the bucket; then one more passes each time it has
    # refilled to one token (40 a minute: 8 take 12 s to come back).
    elapsed = time.monotonic() - started
    most = 40 // per_request + 1 + int(elapsed * 40 / 60 / per_request)
    assert 40 // per_request <= ok <= most, [a.status_code for a in answers]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "tokens_limit_exceeded"


def test_a_revoked_key_fails_on_every_replica_within_a_second(replicas: Replicas) -> None:
    token, _ = replicas.key("to-revoke")
    messages = subscribe(replicas)
    for url in replicas.urls:  # every replica has the key cached now (for 5 s without Redis)
        assert post(url, token).status_code == 200
    revoke = subprocess.run(
        [*_airlock(), "keys", "revoke", "to-revoke"],
        env=replicas.cluster.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert revoke.returncode == 0, revoke.stderr
    assert "warning" not in revoke.stderr
    revoked_at = time.monotonic()
    pending = set(replicas.urls)
    while pending and time.monotonic() < revoked_at + 1.0:
        pending = {url for url in pending if post(url, token).status_code != 401}
    assert not pending, f"still honoured 1 s after revocation by {pending}"
    assert next_message(messages) == {"kind": "key-revoked", "subject": "to-revoke"}
    messages.close()


def test_admitting_and_removing_a_model_reaches_every_replica_within_a_second(
    replicas: Replicas, tmp_path: Path
) -> None:
    from gateway import tiny_models

    token, _ = replicas.key("catalog-reader")
    folder = tiny_models.make_llama(tmp_path / "llama")

    def listed() -> set[str]:
        return {
            url
            for url in replicas.urls
            if httpx.get(
                f"{url}/models/tiny", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        }

    assert listed() == set()  # every replica has just read (and cached) the catalog
    messages = subscribe(replicas)
    for command in (
        ["admit", str(folder), "--name", "tiny", "--force", "--reason", "test"],
        ["models", "remove", "tiny", "--reason", "test"],
    ):
        done = subprocess.run(
            [*_airlock(), *command],
            env=replicas.cluster.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "warning" not in done.stderr
        kind = "model-admitted" if command[0] == "admit" else "model-removed"
        assert next_message(messages) == {"kind": kind, "subject": "tiny"}
        expected = set(replicas.urls) if command[0] == "admit" else set()
        deadline = time.monotonic() + 1.0
        while listed() != expected and time.monotonic() < deadline:
            pass
        assert listed() == expected, command[0]
    messages.close()


def subscribe(replicas: Replicas) -> Any:
    """A subscriber to the change channel, as the replicas are."""
    import redis

    from airlock.gateway.changes import channel

    pubsub = redis.Redis.from_url(SHARED_REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(replicas.cluster.prefix))
    return pubsub


def next_message(pubsub: Any) -> Any:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1.0)
        if message is not None:
            return json.loads(message["data"])
    raise AssertionError("no message on the change channel")


def _airlock() -> list[str]:
    import sys

    return [sys.executable, "-m", "airlock"]


def usage_rows(registry: Registry, key_id: int) -> int:
    with Session(registry.engine) as session:
        query = select(func.count()).where(UsageRecord.key_id == key_id)
        return int(session.scalar(query) or 0)


def test_kill_9_of_a_replica_under_load_loses_no_usage_row(replicas: Replicas) -> None:
    """Clients hammer all three; one is killed with SIGKILL; the other two keep answering, and
    every answered request has its usage row (the dead one's journal is replayed by the
    survivors), at most the requests in flight at the kill beyond that."""
    token, key_id = replicas.key("durable")
    victim = replicas.urls[2]
    answered = Counter[str]()
    lost = Counter[str]()  # sent, never answered: in flight at the kill, or after it
    stop = threading.Event()
    lock = threading.Lock()

    def client(url: str) -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    answer = http.post(
                        f"{url}/chat/completions",
                        json=BODY,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.TransportError:
                    with lock:
                        lost[url] += 1
                    if url == victim:
                        return
                    continue
                with lock:
                    answered[url] += 1
                assert answer.status_code == 200

    threads = [threading.Thread(target=client, args=(u,)) for u in replicas.urls for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    replicas.processes[2].send_signal(signal.SIGKILL)
    replicas.processes[2].wait()
    with lock:
        survivors_before = answered[replicas.urls[0]] + answered[replicas.urls[1]]
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join()
    survivors = [replicas.urls[0], replicas.urls[1]]
    assert sum(answered[u] for u in survivors) > survivors_before  # they kept serving
    assert all(lost[u] == 0 for u in survivors)
    assert answered[victim] > 0
    total = sum(answered.values())
    in_flight = lost[victim]  # at most one per client thread of the victim
    deadline = time.monotonic() + 30  # survivors adopt dead journals every 5 s
    while usage_rows(replicas.registry, key_id) < total and time.monotonic() < deadline:
        time.sleep(0.5)
    rows = usage_rows(replicas.registry, key_id)
    assert total <= rows <= total + in_flight, (total, rows, in_flight)
    leftovers = list((Path(replicas.cluster.home) / "usage-journal").rglob("*.jsonl"))
    assert len(leftovers) == 2  # the two survivors' own journals; the victim's was replayed
