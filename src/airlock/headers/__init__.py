"""Model file headers read as values: GGUF metadata and tensor index, safetensors tensor shapes.

Shared by the scan's readers (which turn what is wrong into findings), `fit` and `license`; it
imports nothing else of Airlock, so sizing a model never loads the scan's readers or jinja2.
"""

from __future__ import annotations

import mmap

# What a parser reads: a whole file, a read-only mapping of one, or a view into either.
Buffer = bytes | bytearray | memoryview | mmap.mmap
