"""A stand-in for `vllm serve` (and any OpenAI-compatible engine): Airlock starts it as it would
start vLLM, and it records what it was started with, so tests can check the command line (the
verified copy, the options' flags) and the environment (the API key, no Airlock secrets).

It reads --port and --served-model-name like vLLM, requires the key in VLLM_API_KEY, answers
/v1/models and /v1/chat/completions (its pid in the text, so tests see which replica answered),
and exits at once on a message "crash". It appends one JSON line per start to the file named by
FAKE_ENGINE_RECORD."""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _flag(name: str, default: str = "") -> str:
    argv = sys.argv
    return argv[argv.index(name) + 1] if name in argv else default


PORT = int(_flag("--port", "0"))
NAME = _flag("--served-model-name", "model")
KEY = os.environ.get("VLLM_API_KEY", "")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("authorization") == f"Bearer {KEY}":
            return True
        self._send(401, {"error": {"message": "Unauthorized", "type": "auth"}})
        return False

    def do_GET(self) -> None:
        if self._authorized():
            self._send(200, {"object": "list", "data": [{"id": NAME, "object": "model"}]})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        last = body["messages"][-1]["content"]
        if last == "crash":
            os._exit(3)
        text = f"pid {os.getpid()} model {body['model']}"
        self._send(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            },
        )


def main() -> None:
    record = os.environ.get("FAKE_ENGINE_RECORD")
    if record:
        env = {k: v for k, v in os.environ.items() if k.startswith(("AIRLOCK_", "VLLM_", "HF_"))}
        entry = {"argv": sys.argv, "pid": os.getpid(), "env": env}
        entry["cuda"] = os.environ.get("CUDA_VISIBLE_DEVICES")
        with open(record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()


if __name__ == "__main__":
    main()
