"""The registry holds API key hashes, usage and the audit log: AIRLOCK_HOME is created 0700 and
the SQLite database 0600 (its -wal and -shm files take its mode); looser ones are tightened when
they are ours, and warned about when they are not."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from airlock.registry.store import Registry


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("AIRLOCK_HOME", str(home))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    return home


def test_a_new_registry_is_private(home: Path) -> None:
    old_umask = os.umask(0o022)  # the usual one: files 0644, folders 0755 unless told otherwise
    try:
        registry = Registry()
        with registry.engine.begin() as connection:  # a write: the WAL files exist now
            connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        database = home / "airlock.db"
        assert mode(home) == 0o700
        assert mode(database) == 0o600
        for suffix in ("-wal", "-shm"):
            assert mode(Path(f"{database}{suffix}")) == 0o600, suffix
        registry.close()
    finally:
        os.umask(old_umask)


def test_an_existing_loose_registry_is_tightened(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Registry().close()
    database = home / "airlock.db"
    os.chmod(home, 0o755)
    os.chmod(database, 0o644)
    with caplog.at_level(logging.WARNING):
        Registry().close()
    assert (mode(home), mode(database)) == (0o700, 0o600)
    assert f"made {home} private (mode 700, was 755)" in caplog.text
    assert f"made {database} private (mode 600, was 644)" in caplog.text


def test_someone_elses_loose_registry_is_warned_about(
    home: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    Registry().close()
    database = home / "airlock.db"
    os.chmod(database, 0o644)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(database).st_uid + 1)
    with caplog.at_level(logging.WARNING):
        Registry().close()
    assert mode(database) == 0o644  # not ours to change
    assert f"{database} can be read by other users (mode 644)" in caplog.text


def test_a_database_url_file_is_private_too(tmp_path: Path, home: Path) -> None:
    database = tmp_path / "elsewhere" / "registry.db"
    database.parent.mkdir()
    Registry(f"sqlite:///{database}").close()
    assert mode(database) == 0o600
