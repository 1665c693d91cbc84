"""The deployment files (Dockerfile, compose.yaml, deploy/): Docker cannot run on the test
machines, so what can be checked without it is: the compose file's structure, that the load
balancer sends traffic by readiness to every replica, and that deploy/serve.toml is read by
the very parser `airlock serve` uses (every setting an option, every value valid)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from airlock.cli.serve import _parser
from airlock.cli.serve_config import merged_arguments

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_two_gateways_behind_a_balancer(compose: dict[str, object]) -> None:
    services = compose["services"]
    assert isinstance(services, dict)
    assert {"postgres", "redis", "migrate", "gateway-1", "gateway-2", "lb"} <= set(services)
    for name in ("gateway-1", "gateway-2"):
        gateway = services[name]
        environment = gateway["environment"]
        assert environment["AIRLOCK_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert environment["AIRLOCK_REDIS_URL"] == "redis://redis:6379/0"
        # The password is never written in the file: compose takes it from the environment.
        assert "${POSTGRES_PASSWORD:?" in environment["AIRLOCK_DATABASE_URL"]
        assert "/health/ready" in " ".join(gateway["healthcheck"]["test"])
        assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert any(v.endswith(":/etc/airlock/serve.toml:ro") for v in gateway["volumes"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_balancer_checks_readiness_of_every_gateway(compose: dict[str, object]) -> None:
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    assert "option httpchk GET /health/ready" in config
    servers = set(re.findall(r"^\s*server (\S+) (\S+):8000", config, re.MULTILINE))
    services = compose["services"]
    assert isinstance(services, dict)
    gateways = {s for s in services if s.startswith("gateway-")}
    assert servers == {(g, g) for g in gateways}


def test_the_image_serves_the_mounted_config() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["serve", "--config", "/etc/airlock/serve.toml"]' in dockerfile
    assert '".[serve,scale]"' in dockerfile
    assert "/health/live" in dockerfile
    assert re.search(r"^USER airlock$", dockerfile, re.MULTILINE)  # not root


def test_the_shipped_serve_toml_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_URL", "http://gpu-node:8000/v1")
    parser = _parser()
    path = ROOT / "deploy" / "serve.toml"
    args = parser.parse_args(merged_arguments(path, parser, ["--config", str(path)]))
    assert (args.host, args.port, args.redis_down) == ("0.0.0.0", 8000, "closed")
    assert args.upstream == ["llama-70b=http://gpu-node:8000/v1"]
