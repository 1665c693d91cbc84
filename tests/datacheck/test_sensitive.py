"""Personal data and secrets: each kind found where it is, look-alikes that are not one left
alone (a number that fails the Luhn check is not a card, an IBAN with a wrong checksum is not
an IBAN), and no value ever printed in any output."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import pytest

from airlock.datacheck import sensitive
from airlock.datacheck.validators import iban_checksum, luhn

from .conftest import write_jsonl

_RNG = random.Random(18)


def _token(alphabet: str, length: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(length))


ALNUM = string.ascii_letters + string.digits
# Tokens in each provider's format, made up here (and assembled at run time, so that no
# secret-looking literal sits in the source).
SECRETS = {
    "aws-access-key": "AK" + "IA" + _token("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    "github-token": "gh" + "p_" + _token(ALNUM, 36),
    "openai-key": "sk-" + "proj-" + _token(ALNUM, 58) + "T3Blbk" + "FJ" + _token(ALNUM, 58),
    "anthropic-key": "sk-ant-" + "api03-" + _token(ALNUM, 93) + "AA",
    "slack-token": "xo" + "xb-" + "1234567890-1234567890123-" + _token(ALNUM, 24),
    "google-api-key": "AI" + "za" + _token(ALNUM, 35),
    "stripe-key": "sk" + "_live_" + _token(ALNUM, 24),
    "huggingface-token": "hf" + "_" + _token(string.ascii_letters, 34),
    "gitlab-token": "gl" + "pat-" + _token(ALNUM, 20),
    "npm-token": "np" + "m_" + _token(string.ascii_lowercase + string.digits, 36),
    "jwt": "ey" + "JhbGciOiJIUzI1NiJ9." + "ey" + "JzdWIiOiIxMjM0NTY3ODkwIn0." + _token(ALNUM, 43),
    "private-key": "-----BEGIN RSA " + "PRIVATE KEY-----",
}
PERSONAL = {
    "email": ["jane.roe@contoso-mail.com", "a.b+tag@sub.example-corp.co.uk"],
    "phone": ["+1 415 555 2671", "(415) 555-2671", "+33 6 12 34 56 78", "+14155552671"],
    "payment-card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "iban": ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
    "ipv4": ["8.8.8.8", "93.184.216.34"],
    "ipv6": ["2a00:1450:4001:81c::200e"],
}
NOT_PERSONAL = [
    "mail user@example.com or admin@test.test",  # reserved example domains
    "an @mention and a@b",
    "call 555-1234 today",  # no area code
    "released 2024-01-15 at 12:30:45",
    "card 4111 1111 1111 1112",  # fails the Luhn check
    "id 0000 0000 0000 0000",  # passes Luhn, but no card issuer starts with 0
    "iban DE89 3704 0044 0532 0130 01",  # wrong check digits
    "XX89370400440532013000",  # no such country
    "192.168.1.1 10.0.0.1 127.0.0.1 203.0.113.5",  # private, loopback, documentation
    "999.1.1.1",
    "2001:db8::1 fe80::1",  # documentation, link-local
    "ghp_short sk-not-a-key AKIAlowercase",
]


@pytest.mark.parametrize(("kind", "value"), [(k, v) for k, vs in PERSONAL.items() for v in vs])
def test_personal_data_is_found_with_its_offsets(kind: str, value: str) -> None:
    text = f"Écrivez à {value}, merci."
    (hit,) = sensitive.find(text)
    assert (hit.pattern.kind, hit.pattern.rule_id) == (kind, "AIR930")
    assert text[hit.start : hit.end] == value


@pytest.mark.parametrize(("kind", "value"), list(SECRETS.items()))
def test_secrets_are_found(kind: str, value: str) -> None:
    text = f'config = {{"token": "{value}"}}\n'
    (hit,) = sensitive.find(text)
    assert (hit.pattern.kind, hit.pattern.rule_id) == (kind, "AIR931")
    assert text[hit.start : hit.end] == value


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_look_alikes_are_not_findings(text: str) -> None:
    assert sensitive.find(text) == []


def test_checksums_against_known_values() -> None:
    # Known-good numbers: the Luhn example of ISO/IEC 7812 and Wikipedia; the IBAN examples of
    # the ECBS / SWIFT registry.
    assert luhn("79927398713") and not luhn("79927398710")
    assert iban_checksum("DE89370400440532013000") and iban_checksum("GB82WEST12345698765432")
    assert not iban_checksum("GB82WEST12345698765433")


def test_reported_by_place_and_kind_never_by_value(tmp_path: Path, check: Any) -> None:
    values = [*SECRETS.values(), *(v for vs in PERSONAL.values() for v in vs)]
    rows = [{"text": f"line {i}: é {value} end", "label": "ok"} for i, value in enumerate(values)]
    rows.append({"text": "keys are data too", "jane.roe@contoso-mail.com": "x"})
    rows.append({"text": "and labels", "label": "ops@contoso-mail.com"})
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    outputs = [check(data, "--format", fmt, "--max-pairs", "100") for fmt in ("text", "json")]
    for result in outputs:
        assert result.code == 1
        for value in values:
            assert value not in result.out and value not in result.err
            assert value.replace(" ", "") not in result.out
        assert "contoso-mail" not in result.out
    report = outputs[1]
    assert report.rule("AIR931")["count"] == len(SECRETS)
    assert report.rule("AIR931")["kinds"] == dict.fromkeys(sorted(SECRETS), 1)
    personal = report.rule("AIR930")
    # The label is a value of the record too: the third e-mail address.
    assert personal["kinds"] == {kind: len(vs) for kind, vs in PERSONAL.items()} | {"email": 3}
    first = personal["examples"][0]
    value = PERSONAL["email"][0]
    index = values.index(value)
    text = rows[index]["text"]
    start = text.index(value)
    assert first["location"] == {
        "members": [f"line {index + 1}", "text"],
        "offset": len(text[:start].encode()),
    }
    assert first["message"] == f"an e-mail address (characters {start}-{start + len(value)})"
    assert first["evidence"] == f"[redacted email, {len(value)} characters]"
    assert report.json()["labels"]["counts"] == {"ok": len(values), "[redacted email]": 1}


def test_a_secret_in_a_text_file_is_placed_by_line(tmp_path: Path, check: Any) -> None:
    key = SECRETS["github-token"]
    (tmp_path / "notes.txt").write_text(f"first line\nsecond {key}\n", encoding="utf-8")
    result = check(tmp_path / "notes.txt", "--format", "json")
    (example,) = result.rule("AIR931")["examples"]
    assert example["location"] == {"members": ["line 2"], "offset": 18}
    assert key not in result.out
