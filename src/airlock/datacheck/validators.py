"""Tests a pattern's match must also pass before it is reported (named by `check` in
data/datacheck/sensitive.toml). Each returns how many characters of the match are the value
(a match may run on past it), or None when the match is not one."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import cache

from airlock.datacheck.knowledge import load


def luhn(digits: str) -> bool:
    """ISO/IEC 7812-1 Annex B: double every second digit from the right."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_checksum(iban: str) -> bool:
    """ISO 13616 / ISO 7064 MOD 97-10: the country code and check digits moved to the end,
    letters as 10..35, the number mod 97 is 1."""
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


@cache
def _card_issuers() -> list[tuple[str, str, frozenset[int]]]:
    ranges = []
    for spec in load("sensitive.toml")["cards"].values():
        for prefix in spec["prefixes"]:
            low, _, high = prefix.partition("-")
            ranges.append((low, high or low, frozenset(spec["lengths"])))
    return ranges


def payment_card(value: str) -> int | None:
    digits = value.replace(" ", "").replace("-", "")
    if not luhn(digits):
        return None
    for low, high, lengths in _card_issuers():
        head = digits[: len(low)]
        if low <= head <= high and len(digits) in lengths:
            return len(value)
    return None


def iban(value: str) -> int | None:
    lengths: dict[str, int] = load("sensitive.toml")["iban_lengths"]
    length = lengths.get(value[:2])
    compact = value.replace(" ", "")
    if length is None or len(compact) < length or not iban_checksum(compact[:length]):
        return None
    # The match may run on into the next word ("... 3000 EUR"): end after the IBAN's chars.
    seen = 0
    for end, char in enumerate(value, 1):
        seen += char != " "
        if seen == length:
            if end < len(value) and value[end] != " ":  # the IBAN would go on: not this one
                return None
            return end
    return None


def email(value: str) -> int | None:
    spec = load("sensitive.toml")["email"]
    domain = value.rpartition("@")[2].lower()
    if domain in spec["reserved_domains"] or domain.endswith(tuple(spec["reserved_suffixes"])):
        return None
    return len(value)


def phone(value: str) -> int | None:
    digits = sum(char.isdigit() for char in value)
    return len(value) if 8 <= digits <= 15 else None  # E.164: at most 15 digits


def ip(value: str) -> int | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if not address.is_global:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return None
    return len(value)


_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

CHECKS: dict[str, Callable[[str], int | None]] = {
    "payment-card": payment_card,
    "iban": iban,
    "email": email,
    "phone": phone,
    "ip": ip,
}
