"""Which backend serves one request for a model that several engine processes or upstream URLs
serve: prompt-prefix affinity first, least busy otherwise, never a backend marked down.

- Affinity: a conversation's stable head (the messages up to its first user turn; a prompt's
  first characters) is hashed, and rendezvous hashing (highest hash of key + backend wins) maps
  it to one backend. The same conversation goes to the same engine while it is healthy, so the
  engine's prefix cache (vLLM's automatic prefix caching, llama.cpp's slot cache) is reused; a
  backend that goes down moves only its own conversations.
- Bounded load: the affine backend is passed over when it has `slack` more requests in flight
  than the least busy one, so one hot system prompt cannot pile everything on one engine.
- Least busy: in-flight counts kept here, ties broken in turn.
- Health: `down_after` consecutive failures (a connection refused or reset, a 502/503/504)
  mark a backend down; it is probed (`probe_due`) every `probe_s` until a probe answers.

Each gateway replica keeps its own counts: no shared state is needed, since affinity is a pure
function of the request and the backend list, the same on every replica.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# Characters of a raw prompt that pick its backend: a shared preamble, not the whole prompt.
PROMPT_PREFIX_CHARS = 512


@dataclass(eq=False)  # identity: two backends at one URL are still two
class Backend:
    url: str  # base URL including /v1
    api_key: str | None = None
    label: str = ""  # for logs: the URL, or "engine 2 of NAME"
    in_flight: int = 0
    up: bool = True
    failures: int = 0  # consecutive
    next_probe: float = 0.0


@dataclass
class Router:
    backends: list[Backend] = field(default_factory=list)
    down_after: int = 2
    probe_s: float = 5.0
    slack: int = 4
    clock: Callable[[], float] = time.monotonic
    _turn: int = 0

    def choose(self, affinity: str | None, exclude: Iterable[Backend] = ()) -> Backend | None:
        """The backend for a request with this affinity key (None: least busy), or None when
        no backend is up."""
        skipped = set(map(id, exclude))
        live = [b for b in self.backends if b.up and id(b) not in skipped]
        if not live:
            return None
        least = min(b.in_flight for b in live)
        if affinity is not None:
            preferred = max(live, key=lambda b: _weight(affinity, b.url))
            if preferred.in_flight <= least + self.slack:
                return preferred
        idle = [b for b in live if b.in_flight == least]
        self._turn += 1
        return idle[self._turn % len(idle)]

    def succeeded(self, backend: Backend) -> None:
        backend.failures = 0
        backend.up = True

    def failed(self, backend: Backend) -> None:
        backend.failures += 1
        if backend.failures >= self.down_after:
            self.mark_down(backend)

    def mark_down(self, backend: Backend) -> None:
        backend.up = False
        backend.next_probe = self.clock() + self.probe_s

    def probe_due(self) -> list[Backend]:
        """Backends down whose next probe time has come; each is due again `probe_s` later."""
        now = self.clock()
        due = [b for b in self.backends if not b.up and b.next_probe <= now]
        for backend in due:
            backend.next_probe = now + self.probe_s
        return due


def affinity_key(body: dict[str, Any]) -> str | None:
    """What keeps a conversation on one backend: the messages up to and including the first
    user message (the same in every later turn of the conversation), or the prompt's first
    characters; None for requests without either (embeddings, audio)."""
    messages = body.get("messages")
    if isinstance(messages, list) and messages:
        head = []
        for message in messages:
            head.append(message)
            if isinstance(message, dict) and message.get("role") == "user":
                break
        return json.dumps(head, sort_keys=True, default=str)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and prompt:
        prompt = prompt[0]
    if isinstance(prompt, str) and prompt:
        return prompt[:PROMPT_PREFIX_CHARS]
    return None


def _weight(key: str, url: str) -> bytes:
    return hashlib.blake2b(f"{url}\n{key}".encode(), digest_size=8).digest()
