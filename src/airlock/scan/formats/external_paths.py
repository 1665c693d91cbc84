"""Where a path stored inside a model file leads: out of the model folder, or through links.

Returns (rule id, reason) pairs for the ONNX external-data rules (AIR611 escapes, AIR612 links).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_SEPARATORS = re.compile(r"[\\/]")


def escape_reason(location: str) -> tuple[str, str] | None:
    """A path that leaves the model folder by its text alone (on any operating system)."""
    if "\x00" in location:
        return "AIR611", "the path contains a NUL byte"
    if location.startswith(("//", "\\\\")):
        return "AIR611", "a UNC network path"
    if location.startswith(("/", "\\")):
        return "AIR611", "an absolute path"
    if re.match(r"[A-Za-z]:", location):
        return "AIR611", "a Windows drive path"
    if ".." in _SEPARATORS.split(location):
        return "AIR611", "the path climbs out of the model folder with `..`"
    return None


def link_reason(model_file: str, location: str) -> tuple[str, str] | None:
    """Links next to a model on disk: a symlinked folder or file, or a hard-linked file."""
    base = Path(model_file).parent
    current = base
    try:
        for part in (p for p in _SEPARATORS.split(location) if p not in ("", ".")):
            current = current / part
            if current.is_symlink():
                real_base, real = os.path.realpath(base), os.path.realpath(current)
                inside = os.path.commonpath([real_base, real]) == real_base
                reason = f"`{current.relative_to(base)}` is a symbolic link to `{real}`"
                return ("AIR612" if inside else "AIR611"), reason
        stat = current.lstat()
    except (OSError, ValueError):
        return None  # a missing data file cannot leak anything
    if current.is_file() and stat.st_nlink > 1:
        return "AIR612", f"the data file has {stat.st_nlink} hard links"
    return None
