"""How many images all image requests together may have waiting or being made. An image takes
seconds (a tiny model) to minutes (SD 1.5 at 512x512 on CPU), so the per-model queue of
`queue_size` requests, each of up to MAX_IMAGES, would hold work that could never finish within
the request timeout: past this bound a request is 429 with Retry-After at once instead."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from airlock.gateway.errors import TooManyRequests

MAX_IMAGES = 4  # `n` per request (OpenAI allows 10; on CPU each is its own long wait)
RETRY_AFTER_S = 10.0


class ImageQueue:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, images: int) -> Iterator[None]:
        with self._lock:
            busy = self.held + images > self.limit
            if not busy:
                self.held += images
        if busy:
            raise TooManyRequests(
                f"the gateway is already making {self.held} images (at most {self.limit} wait "
                "or run at once); retry shortly",
                retry_after=RETRY_AFTER_S,
                code="image_queue_full",
            )
        try:
            yield
        finally:
            with self._lock:
                self.held -= images
