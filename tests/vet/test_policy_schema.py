"""Policy files: the shipped default, every setting read, and errors that point to the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from airlock.findings import Severity
from airlock.policy.schema import PolicyError, default_policy, load_policy, parse_policy


def _error(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.encode(), "policy.yaml")
    return str(caught.value)


def test_default_policy_is_documented_and_strict() -> None:
    policy = default_policy()
    assert policy.name == "default"
    assert policy.digest.startswith("sha256:")
    assert not policy.license.allow_unknown and policy.license.require_commercial_use
    assert policy.max_severity is Severity.LOW
    assert policy.formats.refuse_pickle_beside_safetensors


def test_every_setting_is_read(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "team.pub"
    key.parent.mkdir()
    key.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\nname: strict\n"
        "license: {allow_unknown: true, require_commercial_use: false, allow_non_commercial: true,"
        " allow_output_restrictions: false, allowed: [MIT], denied: [llama3]}\n"
        "findings: {max_severity: medium}\n"
        "signature: {required: true, trusted_keys: [keys/team.pub]}\n"
        "formats: {refused: [pickle, gguf], refuse_pickle_beside_safetensors: false}\n"
        "resources: {max_memory_gib: 24, accelerator: H100, max_devices: 2,"
        " allow_unknown_size: true}\n"
        "pickle: {allowed_globals: [mylab.layers.Norm]}\n"
    )
    policy = load_policy(path)
    assert policy.name == "strict"
    assert policy.license.allowed == ("mit",) and policy.license.denied == ("llama3",)
    assert policy.license.allow_unknown and not policy.license.allow_output_restrictions
    assert policy.max_severity is Severity.MEDIUM
    assert policy.signature.required and policy.signature.trusted_keys == (key,)
    assert policy.formats.refused == ("pickle", "gguf")
    assert policy.resources.max_memory_gib == 24.0 and policy.resources.accelerator == "h100"
    assert policy.resources.max_devices == 2 and policy.resources.allow_unknown_size
    assert policy.pickle_globals == ("mylab.layers.Norm",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: 1\nlicense:\n  allow_unknown: maybe\n",
            "policy.yaml:3: `license.allow_unknown`",
        ),
        ("version: 1\nformats:\n  refused:\n    - pickle\n    - bogus\n", "policy.yaml:5: "),
        ("version: 1\n\nsurprise: 1\n", "policy.yaml:3: unknown setting `surprise`"),
        ("version: 1\nlicense: [\n", "policy.yaml:3: not valid YAML"),
        ("name: x\n", "policy.yaml:1: `version: 1` is required"),
        ("version: 1\nfindings:\n  max_severity: dire\n", "policy.yaml:3: `findings.max_severity`"),
        ("version: 1\nresources:\n  accelerator: abacus\n", "policy.yaml:3: "),
        ("version: 1\nresources:\n  max_devices: 0\n", "policy.yaml:3: "),
        ("version: 1\nsignature:\n  trusted_keys: [nope.pem]\n", "policy.yaml:3: trusted key"),
        ("version: 1\npickle:\n  allowed_globals:\n    - os system\n", "policy.yaml:4: "),
        ("version: 1\nlicense: yes\n", "policy.yaml:2: `license` must be a mapping"),
        ("version: 1\nname: a\nname: b\n", "policy.yaml:3: `name` is set twice"),
    ],
)
def test_errors_point_to_the_line(text: str, expected: str) -> None:
    assert _error(text).startswith(expected)


def test_unreadable_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")
