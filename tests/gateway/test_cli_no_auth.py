"""`airlock serve --no-auth`: refused on an address other than loopback unless
--no-auth-on-network says so too, and warned about on stderr whenever it is used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airlock.cli import main

from .conftest import free_port


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """What uvicorn.run was called with (it returns at once)."""
    import uvicorn

    runs: list[dict[str, Any]] = []
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: runs.append(kw))
    return runs


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3"])
def test_no_auth_on_the_network_is_refused(
    host: str, started: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--no-auth", "--host", host]) == 2
    captured = capsys.readouterr()
    assert started == [] and captured.out == ""
    assert captured.err == (
        f"airlock: error: --no-auth on --host {host}, which is not a loopback address, lets "
        "anyone who can reach it use every model without a key; add --no-auth-on-network to do "
        "so anyway\n"
    )


@pytest.mark.parametrize(
    ("args", "host"),
    [
        (["--no-auth"], "127.0.0.1"),
        (["--no-auth", "--host", "localhost"], "localhost"),
        (["--no-auth", "--host", "0.0.0.0", "--no-auth-on-network"], "0.0.0.0"),
    ],
)
def test_no_auth_where_allowed_is_always_warned_about(
    args: list[str], host: str, started: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    assert main(["serve", *args, "--port", str(port)]) == 0
    assert started[0]["host"] == host
    assert (
        f"airlock: warning: --no-auth: anyone who can reach {host}:{port} can use every model "
        "without an API key\n"
    ) in capsys.readouterr().err


def test_the_network_flag_goes_with_no_auth(
    started: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--no-auth-on-network"]) == 2
    assert started == []
    assert capsys.readouterr().err == "airlock: error: --no-auth-on-network goes with --no-auth\n"


def test_with_keys_any_address_is_fine_and_nothing_is_warned(
    started: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", str(free_port())]) == 0
    assert started and "warning" not in capsys.readouterr().err
