"""What every archive reader shares: the path-escape test and grouped header anomalies."""

from __future__ import annotations

import re

_DRIVE = re.compile(r"[A-Za-z]:")


def is_absolute(path: str) -> bool:
    """Rooted (`/x`, `\\x`) or on a Windows drive (`C:`), on any system."""
    return path.startswith(("/", "\\")) or (path[1:2] == ":" and _DRIVE.match(path) is not None)


def escapes(path: str) -> bool:
    """Whether a member path, as stored, lands outside the extraction folder on any system."""
    return is_absolute(path) or (".." in path and ".." in path.replace("\\", "/").split("/"))


class Anomalies:
    """Inconsistencies grouped by kind, so that a thousand tampered headers read as one."""

    def __init__(self) -> None:
        self._groups: dict[str, list[str]] = {}

    def add(self, kind: str, member: str = "") -> None:
        self._groups.setdefault(kind, []).append(member)

    def messages(self) -> list[str]:
        out = []
        for kind, members in self._groups.items():
            named = [f"`{m}`" for m in members if m]
            shown = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
            out.append(f"{kind} ({shown})" if named else kind)
        return out
