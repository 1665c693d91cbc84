"""The tail of `make demo`: start `airlock serve` on the admitted MiniLM, wait for /health,
create a key, print a ready-to-paste openai-client example, make one real request, stop.
Also prints the console's address and an admin key to sign in with; AIRLOCK_DEMO_KEEP=1 keeps
the gateway up (Ctrl-C stops it) so the console can be tried in a browser."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

MODEL = "all-minilm-l6-v2"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_key(*options: str) -> str:
    made = subprocess.run(
        [BIN / "airlock", "keys", "create", *options], check=True, capture_output=True, text=True
    )
    return made.stdout.splitlines()[0]


def main() -> int:
    port = int(os.environ.get("AIRLOCK_DEMO_PORT") or free_port())
    stamp = int(time.time())
    key = create_key("--name", f"demo-{stamp}", "--models", MODEL, "--rpm", "600")
    admin = create_key("--name", f"demo-admin-{stamp}", "--role", "admin")
    server = subprocess.Popen([BIN / "airlock", "serve", "--port", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("the gateway did not come up", file=sys.stderr)
                return 1
            time.sleep(0.3)
        print(
            f"\nThe gateway is up. The console: open {base}/ in a browser and sign in with "
            "this admin key:\n"
            f"    {admin}\n"
            "(people get keys with `airlock keys create --name NAME --role "
            "admin|reviewer|requester`; docs/console.md)"
        )
        print(
            f"\nPaste this into Python while `airlock serve` runs:\n\n"
            f"    from openai import OpenAI\n"
            f'    client = OpenAI(base_url="{base}/v1", api_key="{key}")\n'
            f'    result = client.embeddings.create(model="{MODEL}", input=["hello"])\n'
            f"    print(len(result.data[0].embedding))\n"
        )
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=key)
        result = client.embeddings.create(model=MODEL, input=["Airlock serves admitted models."])
        vector = result.data[0].embedding
        print(
            f"One real request: {len(vector)} dimensions, first values "
            f"{[round(v, 4) for v in vector[:4]]}, {result.usage.prompt_tokens} tokens."
        )
        if os.environ.get("AIRLOCK_DEMO_KEEP") == "1":
            print("AIRLOCK_DEMO_KEEP=1: the gateway stays up; Ctrl-C stops it.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                server.wait()
            return 0
        print("Stopping the demo gateway (AIRLOCK_DEMO_KEEP=1 make demo-serve keeps it up).")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
