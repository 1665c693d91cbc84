"""Keep the garbage collector's full passes off the request path.

A loaded model leaves hundreds of thousands of long-lived Python objects (modules, parameters,
tokenizer tables), and CPython's full collections walk all of them: in the gateway under load
they paused every request for 20-300 ms, which was most of its p99 latency at concurrency 16.
Freezing the heap after startup and after each load moves those objects out of the collector's
view (reference counting still frees them); unloading unfreezes and collects once, so a dropped
model's reference cycles are freed rather than kept forever.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """After startup or a load: free what is garbage now, then freeze everything alive."""
    gc.collect()
    gc.freeze()


def release() -> None:
    """After an unload: let the collector see the whole heap again, free its cycles, refreeze."""
    gc.unfreeze()
    settle()
