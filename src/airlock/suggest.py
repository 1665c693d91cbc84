""" "Did you mean ...?" for a name that matches nothing (a policy setting, a rule id, a license)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def did_you_mean(wanted: str, names: Mapping[str, str] | Iterable[str]) -> str:
    """` (did you mean X?)`, or "" when nothing is close.

    `names` maps every spelling that may be typed (ids, aliases) to the name to suggest, so that
    a near-miss of an alias still suggests the canonical id.
    """
    spellings = dict(names) if isinstance(names, Mapping) else {name: name for name in names}
    lowered = {spelling.lower(): target for spelling, target in spellings.items()}
    close = difflib.get_close_matches(wanted.strip().lower(), list(lowered), n=5, cutoff=0.6)
    quoted = [f"`{name}`" for name in dict.fromkeys(lowered[match] for match in close)][:3]
    if not quoted:
        return ""
    choices = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f" (did you mean {choices}?)"
