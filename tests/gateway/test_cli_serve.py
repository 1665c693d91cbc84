"""`airlock serve` options: bad values are usage errors; good ones reach the gateway's config."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from airlock.cli import main
from airlock.gateway.config import GatewayConfig


@pytest.mark.parametrize(
    "args",
    [
        ["--model-workers", "0"],
        ["--torch-threads", "0"],
        ["--queue-size", "0"],
        ["--memory-budget", "-1"],
        ["--upstream", "no-url-here"],
        ["--log-format", "xml"],
        ["--engine", "big=tgi"],
        ["--engine", "=vllm"],
        ["--engine-replicas", "0"],
        ["--engine", "big", "--engine", "big=vllm"],
        ["--upstream", "big=http://127.0.0.1:9/v1", "--engine", "big"],
    ],
)
def test_bad_options_are_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_options_reach_the_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    import airlock.gateway.app as gateway_app

    seen: dict[str, Any] = {}
    real_create_app = gateway_app.create_app

    def create_app(config: GatewayConfig, *rest: Any, **kwargs: Any) -> Any:
        seen["config"] = config
        return real_create_app(config, *rest, **kwargs)

    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "")
    monkeypatch.setattr(gateway_app, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(run=kw))
    threads = torch.get_num_threads()  # create_app sets the process's torch threads
    try:
        code = main(
            [
                *("serve", "--port", "9123", "--model-workers", "3"),
                *("--torch-threads", "2", "--stock-kernels", "--log-format", "json"),
                *("--audio-budget", "64", "--header-timeout", "5", "--body-timeout", "2m"),
                *("--max-connections", "50", "--max-connections-per-client", "7"),
            ]
        )
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    config = seen["config"]
    assert (config.model_workers, config.torch_threads, config.prepack_kernels) == (3, 2, False)
    assert seen["run"]["port"] == 9123 and seen["run"]["host"] == "127.0.0.1"
    assert config.log_format == "json"
    assert seen["run"]["access_log"] is False  # the app writes it: uvicorn's would double it
    assert config.audio_budget_bytes == 64 * 1024 * 1024
    assert (config.header_timeout_s, config.body_timeout_s) == (5.0, 120.0)
    assert (config.max_connections, config.max_connections_per_client) == (50, 7)
    limits = seen["run"]["http"].limits  # uvicorn runs the guarded protocol with them
    assert (limits.total, limits.per_client, limits.header_timeout_s) == (50, 7, 5.0)
    assert "serving 0 admitted model(s)" in capsys.readouterr().out
    defaults = GatewayConfig()
    assert defaults.prepack_kernels and defaults.model_workers >= 1


def test_port_in_use_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    import uvicorn

    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "")
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    captured = capsys.readouterr()
    assert f"cannot listen on 127.0.0.1:{port}" in captured.err
    assert "serving" not in captured.out


def test_engines_and_upstreams_reach_the_config_and_the_console(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    import airlock.gateway.app as gateway_app

    seen: dict[str, Any] = {}
    real_create_app = gateway_app.create_app

    def create_app(config: GatewayConfig, *rest: Any, **kwargs: Any) -> Any:
        seen["config"] = config
        return real_create_app(config, *rest, **kwargs)

    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "")
    monkeypatch.setattr(gateway_app, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    threads = torch.get_num_threads()
    try:
        code = main(
            [
                *("serve", "--port", "9124", "--engine", "big=vllm", "--engine", "small"),
                *("--engine-replicas", "3", "--upstream", "far=http://127.0.0.1:1/v1"),
                *("--upstream", "far=http://127.0.0.1:2/v1"),
            ]
        )
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    config = seen["config"]
    assert [(e.name, e.kind, e.replicas) for e in config.engines] == [
        ("big", "vllm", 3),
        ("small", "auto", 3),
    ]
    assert [u.url for u in config.upstreams] == ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"]
    out = capsys.readouterr().out
    assert "big: 3 vllm engine process(es) on its verified copy (integrity enforced" in out
    assert "warning: --engine big: not admitted (yet)" in out
    assert (
        "far: upstream http://127.0.0.1:1/v1, http://127.0.0.1:2/v1 (integrity not enforced "
        "by Airlock)" in out
    )
