"""Usage rows survive `kill -9`: a real `airlock serve` answers N requests and is killed with
SIGKILL at once; the next recorder to start replays its journal: all N rows, none twice. On
SQLite, and on PostgreSQL (127.0.0.1:5432, database `test`) where it is reachable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import airlock
from airlock.gateway.auth import KeyStore
from airlock.gateway.usage import Usage, UsageRecorder, journal_folder
from airlock.gateway.usage_journal import Entry, Journal
from airlock.registry.db import DATABASE_ENV
from airlock.registry.gateway_tables import UsageRecord
from airlock.registry.store import Registry

from . import tiny_models
from .conftest import admit, free_port

N = 40
POSTGRES_URL = os.environ.get(
    "AIRLOCK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A registry of its own: the SQLite file in a new home, or a new PostgreSQL schema."""
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    if request.param == "sqlite":
        yield
        return
    admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as connection:
            schema = f"airlock_test_{uuid.uuid4().hex[:12]}"
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable: {str(exc).splitlines()[0]}")
    monkeypatch.setenv(DATABASE_ENV, f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        yield
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def start_gateway(port: int) -> subprocess.Popen[bytes]:
    source = str(Path(airlock.__file__).resolve().parents[1])  # these sources, not an install
    env = {**os.environ, "PYTHONPATH": source}
    argv = ["serve", "--port", str(port), "--stock-kernels", "--model-workers", "1"]
    command = [sys.executable, "-m", "airlock", *argv]
    gateway = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert gateway.poll() is None, gateway.stderr.read().decode() if gateway.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return gateway
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    gateway.kill()
    raise AssertionError("airlock serve did not start")


def rows(registry: Registry, key_id: int) -> list[UsageRecord]:
    with Session(registry.engine) as session:
        return list(session.scalars(select(UsageRecord).where(UsageRecord.key_id == key_id)))


def test_usage_rows_survive_sigkill(database: None, tmp_path: Path) -> None:
    admit(tiny_models.make_llama(tmp_path / "llama"), "d-llama")
    registry = Registry()
    token, info = KeyStore(registry.engine).create("durable", None, None)
    port = free_port()
    gateway = start_gateway(port)
    try:
        messages = [{"role": "user", "content": "hi"}]
        body = {"model": "d-llama", "messages": messages, "max_tokens": 1}
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=60) as client:
            for _ in range(N):
                answer = client.post("/chat/completions", json=body, headers=headers)
                assert answer.status_code == 200
    finally:
        gateway.send_signal(signal.SIGKILL)  # right after the last answer: no clean shutdown
        gateway.wait(timeout=30)
    written_before_replay = len(rows(registry, info.id))
    UsageRecorder(registry.engine).close()  # a gateway starting: replays the journal
    recorded = rows(registry, info.id)
    assert len(recorded) == N, f"{written_before_replay} were in the database before the replay"
    assert {(r.status, r.completion_tokens) for r in recorded} == {(200, 1)}
    assert len({r.entry_id for r in recorded}) == N
    UsageRecorder(registry.engine).close()  # replaying again counts nothing twice
    assert len(rows(registry, info.id)) == N
    with Session(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(UsageRecord)) == N
    assert list(journal_folder(registry.engine).iterdir()) == []  # replayed journals are gone
    registry.close()


def entry(prompt_tokens: int) -> Entry:
    usage = Usage(None, "m", "chat", 200, prompt_tokens, 1, 5.0)
    return Entry.new({**vars(usage), "created_at": "2026-01-01T00:00:00+00:00"})


def test_replay_writes_only_what_the_database_lacks(database: None, tmp_path: Path) -> None:
    """A journal that also holds rows written before the kill (they stay in the file until it is
    emptied): the replay adds only the others."""
    registry = Registry()
    folder = tmp_path / "journal"
    dead = Journal(folder)
    entries = [entry(prompt_tokens) for prompt_tokens in range(6)]
    for each in entries:
        dead.append(each)
    with Session(registry.engine) as session, session.begin():
        for each in entries[:4]:
            row = {**each.row, "created_at": datetime.fromisoformat(each.row["created_at"])}
            session.add(UsageRecord(**row, entry_id=each.id))
    dead.close(remove=False)  # as a killed process leaves it: unlocked, still there
    UsageRecorder(registry.engine, folder).close()
    with Session(registry.engine) as session:
        written = sorted(session.scalars(select(UsageRecord.prompt_tokens)))
    assert written == [0, 1, 2, 3, 4, 5]
    assert list(folder.iterdir()) == []
    registry.close()


def test_a_running_gateways_journal_is_not_replayed(database: None, tmp_path: Path) -> None:
    registry = Registry()
    folder = tmp_path / "journal"
    live = Journal(folder)
    live.append(entry(1))
    UsageRecorder(registry.engine, folder).close()
    with Session(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(UsageRecord)) == 0
    assert len(list(folder.glob("*.jsonl"))) == 1  # still locked by its (live) owner
    live.close(remove=True)
    registry.close()


def test_a_folder_that_cannot_be_written_costs_only_durability(
    database: None, tmp_path: Path
) -> None:
    registry = Registry()
    folder = tmp_path / "not-a-folder"
    folder.write_text("a file where the journal folder would be")
    recorder = UsageRecorder(registry.engine, folder)
    recorder.record(Usage(None, "m", "chat", 200, 1, 1, 5.0))
    recorder.close()
    with Session(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(UsageRecord)) == 1
    registry.close()
