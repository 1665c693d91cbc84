""" "Did you mean ...?" for a name that matches nothing (a policy setting, a rule id, a license)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

_CUTOFF = 0.6
_SHOWN = 3


def did_you_mean(wanted: str, names: Mapping[str, str] | Iterable[str]) -> str:
    """` (did you mean X?)`, or "" when nothing is close.

    `names` maps every spelling that may be typed (ids, aliases) to the name to suggest, so that
    a near-miss of an alias still suggests the canonical id.
    """
    spellings = dict(names) if isinstance(names, Mapping) else {name: name for name in names}
    lowered = {spelling.lower(): target for spelling, target in spellings.items()}
    typed = wanted.strip().lower()
    scored = [(_similarity(typed, spelling), spelling) for spelling in lowered]
    close = sorted((s for s in scored if s[0][0] >= _CUTOFF), key=lambda s: (-s[0][0], -s[0][1]))
    quoted = [f"`{name}`" for name in dict.fromkeys(lowered[s] for _, s in close)][:_SHOWN]
    if not quoted:
        return ""
    choices = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f" (did you mean {choices}?)"


def _similarity(typed: str, spelling: str) -> tuple[float, int]:
    # difflib's ratio ties often (AIR1O1 is as close to AIR711 as to AIR101); letters in the
    # same place break the tie in favour of the likely typo.
    same_place = sum(a == b for a, b in zip(typed, spelling, strict=False))
    return difflib.SequenceMatcher(None, typed, spelling).ratio(), same_place
