"""`airlock serve --config serve.toml`: every option a setting, the command line wins, `${VAR}`
from the environment, mistakes are one line and exit 2."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from airlock.cli import main
from airlock.cli.serve import _parser
from airlock.cli.serve_config import ConfigError, _options, merged_arguments

from .cluster import SOURCE, free_port, stop, wait_until


def parse(tmp_path: Path, text: str, *cli: str) -> argparse.Namespace:
    path = tmp_path / "serve.toml"
    path.write_text(text)
    parser = _parser()
    return parser.parse_args(merged_arguments(path, parser, ["--config", str(path), *cli]))


def test_every_serve_option_is_a_setting() -> None:
    """Options added to `airlock serve` later are settings without a change here."""
    parser = _parser()
    settings = _options(parser)
    longs = {o[2:] for a in parser._actions for o in a.option_strings if o.startswith("--")} - {
        "help",
        "config",
    }
    assert set(settings) == longs


def test_the_command_line_overrides_the_file(tmp_path: Path) -> None:
    text = """
port = 9000
memory-budget = 4
queue_size = 10
no_auth = true
upstream = ["a=http://a:1/v1", "b=http://b:1/v1"]
model_rpm = ["a=60"]
redis_down = "open"
"""
    args = parse(tmp_path, text)
    assert (args.port, args.memory_budget, args.queue_size, args.no_auth) == (9000, 4.0, 10, True)
    assert args.upstream == ["a=http://a:1/v1", "b=http://b:1/v1"]
    assert (args.model_rpm, args.redis_down) == (["a=60"], "open")
    # Given on the command line, even the default value wins; a list replaces the file's.
    args = parse(tmp_path, text, "--port", "8000", "--upstream", "c=http://c:1/v1")
    assert args.port == 8000 and args.upstream == ["c=http://c:1/v1"]
    assert args.model_rpm == ["a=60"]


def test_environment_variables_fill_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_URL", "http://gpu:8000/v1")
    args = parse(tmp_path, 'upstream = ["llama=${LLAMA_URL}"]\n')
    assert args.upstream == ["llama=http://gpu:8000/v1"]
    monkeypatch.delenv("LLAMA_URL")
    with pytest.raises(ConfigError, match="LLAMA_URL is not set"):
        parse(tmp_path, 'upstream = ["llama=${LLAMA_URL}"]\n')


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("prot = 9000\n", "unknown setting 'prot' (did you mean `port`?)"),
        ("port = [1]\n", "port: expected a string or a number"),
        ("no_auth = 1\n", "no_auth: expected true or false"),
        ('upstream = "a=http://a/v1"\n', "upstream: expected a list"),
        ("port = \n", "not valid TOML"),
    ],
)
def test_mistakes_are_one_line(
    tmp_path: Path, text: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "serve.toml"
    path.write_text(text)
    assert main(["serve", "--config", str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("airlock: error: ") and words in line


def test_a_value_out_of_range_in_the_file_is_the_options_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "serve.toml"
    path.write_text("port = 99999\n")
    assert main(["serve", "--config", str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "--port" in line and "from 1 to 65,535" in line


def test_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_serve_runs_from_the_file(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "serve.toml"
    path.write_text(f'port = {port}\nno_auth = true\nupstream = ["big=${{BIG_URL}}"]\n')
    env = {**os.environ, "PYTHONPATH": SOURCE, "AIRLOCK_HOME": str(tmp_path / "home")}
    env.pop("AIRLOCK_DATABASE_URL", None)
    env.pop("AIRLOCK_REDIS_URL", None)
    env["BIG_URL"] = "http://127.0.0.1:9/v1"
    command = [sys.executable, "-m", "airlock", "serve", "--config", str(path)]
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_until(f"http://127.0.0.1:{port}/health/live", process, log)
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()
        assert [m["id"] for m in models["data"]] == ["big"]
        ready = httpx.get(f"http://127.0.0.1:{port}/health/ready").json()
        assert ready == {"status": "ok", "checks": {"database": "ok"}}
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"AIRLOCK_REDIS_URL": "http://redis:6379"}, "must start with redis://"),
        (
            {"AIRLOCK_REDIS_URL": "redis://127.0.0.1:9/0", "AIRLOCK_REDIS_FAILURE": "maybe"},
            "AIRLOCK_REDIS_FAILURE must be open or closed, not 'maybe'",
        ),
    ],
)
def test_shared_state_settings_are_checked_before_serving(
    env: dict[str, str],
    words: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--port", str(free_port())]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert words in line and captured.out == ""
