"""A registry that cannot be opened is one line on stderr, exit 2: which database (file, or URL
with the password hidden), which setting chose it, and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from tests.vet.conftest import CLEAN

from airlock.cli import main
from airlock.registry import db
from airlock.registry.store import Registry

COMMANDS = [
    ["models", "list"],
    ["audit"],
    ["keys", "list"],
    ["usage"],
    ["models", "remove", "x", "--reason", "r"],
]


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def home_under_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("AIRLOCK_HOME", str(blocker / "home"))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    return blocker / "home"


@pytest.mark.parametrize("command", COMMANDS)
def test_home_that_cannot_be_created(
    home_under_a_file: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 2
    assert _error(capsys) == (
        f"airlock: error: cannot create the Airlock home folder {home_under_a_file} "
        "(set by AIRLOCK_HOME): Not a directory; set AIRLOCK_HOME to a folder you can write, "
        "or AIRLOCK_DATABASE_URL to a database"
    )


def test_home_without_permission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a user without write access sees (faked: the tests may run as root)."""
    home = tmp_path / "locked" / "home"
    monkeypatch.setenv("AIRLOCK_HOME", str(home))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)

    def denied() -> Path:
        raise PermissionError(13, "Permission denied", str(home.parent))

    monkeypatch.setattr(db, "ensure_home", denied)
    assert main(["models", "list"]) == 2
    error = _error(capsys)
    assert f"cannot create the Airlock home folder {home} (set by AIRLOCK_HOME)" in error
    assert "Permission denied; set AIRLOCK_HOME to a folder you can write" in error
    assert "internal error" not in error


def test_default_home_that_cannot_be_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.delenv("AIRLOCK_HOME", raising=False)
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    assert main(["models", "list"]) == 2
    error = _error(capsys)
    assert f"home folder {blocker / 'airlock'} (AIRLOCK_HOME is not set): Not a directory" in error


def test_sqlite_file_that_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/reg.db")
    assert main(["models", "list"]) == 2
    assert _error(capsys) == (
        f"airlock: error: registry database {tmp_path}/missing/dir/reg.db "
        "(set by AIRLOCK_DATABASE_URL) cannot be opened: unable to open database file"
    )


def test_default_sqlite_file_that_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "airlock.db").mkdir()  # a folder where the database file should be
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    assert main(["keys", "list"]) == 2
    assert _error(capsys) == (
        f"airlock: error: registry database {tmp_path}/airlock.db (the default file in the "
        "Airlock home folder, set by AIRLOCK_HOME) cannot be opened: unable to open database file"
    )


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_unreachable_postgres_hides_the_password(
    scheme: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", f"{scheme}://airlock:s3cret@127.0.0.1:1/reg")
    assert main(["models", "list"]) == 2
    error = _error(capsys)
    assert error.startswith(
        "airlock: error: registry database postgresql+psycopg://airlock:***@127.0.0.1:1/reg "
        "(set by AIRLOCK_DATABASE_URL) cannot be opened: connection failed"
    )
    assert "s3cret" not in error


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("nosuchdb://u:pw@host/db", "is not a database URL (e.g. postgresql+psycopg://"),
        ("not a url", "is not a database URL"),
        ("mysql+pymysql://u:pw@host/db", "needs the database driver pymysql, which is not"),
    ],
)
def test_misconfigured_url(
    url: str, why: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", url)
    assert main(["audit"]) == 2
    error = _error(capsys)
    assert "(set by AIRLOCK_DATABASE_URL)" in error and why in error
    assert "pw" not in error


def test_postgres_scheme_means_postgresql(
    registry_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not registry_url.startswith("postgresql+psycopg://"):
        pytest.skip("a PostgreSQL URL spelling")
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "postgres://" + registry_url.split("://", 1)[1])
    assert main(["admit", str(CLEAN), "--name", "clf"]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    assert capsys.readouterr().out.startswith("clf  v1")


def test_admit_checks_the_registry_before_vetting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", f"sqlite:///{tmp_path}/nope/reg.db")
    assert main(["admit", str(CLEAN), "--name", "clf"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no verdict printed that could not be recorded
    assert captured.err == (
        f"airlock: error: registry database {tmp_path}/nope/reg.db (set by AIRLOCK_DATABASE_URL) "
        "cannot be opened: unable to open database file\n"
    )


def test_a_newer_schema_asks_for_a_newer_airlock(
    registry_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = Registry()
    with registry.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    registry.close()
    assert main(["models", "list"]) == 2
    error = _error(capsys)
    assert "(set by AIRLOCK_DATABASE_URL) has a schema this Airlock does not know" in error
    assert error.endswith("upgrade Airlock")
