"""`airlock keys create --role`: people's keys for the console; app keys stay the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.cli import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    return tmp_path


def test_role_is_recorded_and_listed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--name", "rita", "--role", "reviewer"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ak-")
    assert "'rita' (reviewer;" in out
    assert main(["keys", "create", "--name", "svc"]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "rita\t" in listing and "role=reviewer" in listing
    assert "role=app" in listing


def test_unknown_role_is_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--name", "x", "--role", "root"]) == 2
    assert "invalid choice: 'root'" in capsys.readouterr().err


def test_serve_refuses_a_missing_request_root(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .conftest import free_port

    missing = home / "nowhere"
    code = main(["serve", "--port", str(free_port()), "--request-root", str(missing)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"--request-root {missing}: not a folder on this server" in err
    assert "Traceback" not in err


def test_serve_refuses_a_bad_policy(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import free_port

    bad = home / "policy.yaml"
    bad.write_text("license: [\n")
    assert main(["serve", "--port", str(free_port()), "--policy", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "policy.yaml" in err
