"""YAML: python tags an unsafe loader would construct (in every spelling the parser resolves),
Jinja strings handed to the chat template check, `_target_` / `class_path` targets, and hostile
files (aliases, nesting, bad syntax, bad encodings) that must stay findings, never tracebacks or
blow-ups. Nothing here loads YAML with a constructing loader; a canary proves nothing ran."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from airlock.artifact import ArtifactFile
from airlock.findings import Finding, Severity
from airlock.scan.context import Kind
from airlock.scan.formats import yaml_reader
from airlock.scan.formats.detect import HEAD_BYTES, detect
from airlock.scan.results import FileResult
from airlock.scan.scanner import Scanner

SAMPLES = (
    Path(__file__).resolve().parents[4]
    / "shared/corpora/peer-samples/modelaudit/tests/assets/samples/jinja2/yaml"
)
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
)


CONSTRUCTING = (
    "load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all",
    "safe_load", "safe_load_all", "compose", "compose_all",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any constructing YAML call during a scan fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the scanner constructed YAML")

    for name in CONSTRUCTING:
        monkeypatch.setattr(yaml, name, refuse)


def scan(tmp_path: Path, text: str | bytes, name: str = "config.yaml") -> FileResult:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return Scanner().scan_file(ArtifactFile(path, name))


def findings(tmp_path: Path, text: str | bytes, name: str = "config.yaml") -> list[Finding]:
    return list(scan(tmp_path, text, name).findings)


def worst(found: list[Finding]) -> Severity | None:
    return max((f.severity for f in found), default=None)


# Python tags -------------------------------------------------------------------------------


def test_apply_os_system_is_critical_and_never_runs(tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    text = f'model: tiny\nrun: !!python/object/apply:os.system ["touch {canary}"]\n'
    found = findings(tmp_path, text)
    assert [(f.rule_id, f.severity) for f in found] == [("AIR631", Severity.CRITICAL)]
    assert "`os.system`" in found[0].message and found[0].message.startswith("Line 2:")
    assert found[0].location.offset == text.index("!!python")
    assert not canary.exists()


SPELLINGS = [
    pytest.param("a: !!python/name:os.system\n", "os.system", id="name"),
    # PyYAML looks a name without a dot up in builtins.
    pytest.param("a: !!python/name:eval\n", "builtins.eval", id="bare-name"),
    pytest.param("a: !!python/module:subprocess\n", "subprocess", id="module"),
    pytest.param("a: !!python/object/new:builtins.exec [print(1)]\n", "builtins.exec", id="new"),
    pytest.param(
        "a: !<tag:yaml.org,2002:python/object/apply:subprocess.Popen> [[id]]\n",
        "subprocess.Popen",
        id="verbatim",
    ),
    pytest.param(
        "%TAG !py! tag:yaml.org,2002:python/\n---\na: !py!object/apply:os.system [id]\n",
        "os.system",
        id="tag-handle",
    ),
    pytest.param(
        "%TAG ! tag:yaml.org,2002:python/\n---\na: !object/apply:os.system [id]\n",
        "os.system",
        id="primary-handle",
    ),
    pytest.param(
        "%TAG !! tag:yaml.org,2002:pyth%6Fn/\n---\na: !!object/apply:os.system [id]\n",
        "os.system",
        id="escaped-prefix",
    ),
    pytest.param("a: !!python/object/apply:os%2Esystem [id]\n", "os.system", id="escaped"),
    pytest.param("? !!python/object/apply:os.system [id]\n: value\n", "os.system", id="key"),
    pytest.param("- &x !!python/object/apply:os.system [id]\n- *x\n", "os.system", id="anchor"),
]


@pytest.mark.parametrize(("text", "callable_"), SPELLINGS)
def test_every_spelling_of_a_dangerous_tag_is_critical(
    tmp_path: Path, text: str, callable_: str
) -> None:
    found = findings(tmp_path, text)
    assert worst(found) == Severity.CRITICAL
    assert any(f.rule_id == "AIR631" and callable_ in f.message for f in found), found


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("a: !!python/object/apply:my_project.layers.Block [4]\n", Severity.HIGH),
        ("a: !!python/object:argparse.Namespace {lr: 0.1}\n", Severity.HIGH),
        # Issue 12: every tag that imports or builds something is high at least, even an
        # allowlisted name; only an unsafe loader reads such a file.
        ("a: !!python/name:mypkg.Net\n", Severity.HIGH),
        ("a: !!python/module:mypkg\n", Severity.HIGH),
        ("a: !!python/object/apply:collections.OrderedDict [[[k, 1]]]\n", Severity.HIGH),
    ],
)
def test_other_callables_are_high(tmp_path: Path, text: str, severity: Severity) -> None:
    found = findings(tmp_path, text)
    assert [(f.rule_id, f.severity) for f in found] == [("AIR631", severity)]


def test_plain_value_tags_and_tags_in_strings_are_not_findings(tmp_path: Path) -> None:
    text = (
        "shape: !!python/tuple [1, 2]\n"
        "note: '!!python/object/apply:os.system [id]'  # !!python/name:os.system\n"
        "local: !python/object/apply:os.system [id]\n"  # a local tag: no loader maps it
    )
    assert findings(tmp_path, text) == []


def test_a_flood_of_tags_is_capped(tmp_path: Path) -> None:
    text = "".join(f"k{i}: !!python/object/apply:m{i}.f [1]\n" for i in range(500))
    found = findings(tmp_path, text)
    assert len(found) == 17
    assert "484 more" in found[-1].message


# Jinja strings -----------------------------------------------------------------------------


def test_jinja_escape_in_a_chat_template_is_critical(tmp_path: Path) -> None:
    text = "tokenizer:\n  chat_template: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n"
    found = findings(tmp_path, text)
    assert worst(found) == Severity.CRITICAL
    assert any(
        f.rule_id == "AIR501" and "`tokenizer.chat_template` (YAML line 2)" in f.message
        for f in found
    )


def test_plain_chat_templates_are_clean(tmp_path: Path) -> None:
    block = "chat_template: |\n  " + CHATML + "\n"
    named = f"chat_template:\n  - name: default\n    template: {CHATML!r}\n"
    assert findings(tmp_path, block) == []
    assert findings(tmp_path, named) == []


def test_other_jinja_strings_report_only_escapes(tmp_path: Path) -> None:
    workflow = "jobs:\n  test:\n    runs-on: ${{ matrix.os }}\n    if: ${{ a && b }}\n"
    assert findings(tmp_path, workflow, "ci.yml") == []
    found = findings(tmp_path, 'steps:\n  - run: "{{ cycler.__init__.__globals__.os }}"\n')
    assert [(f.rule_id, f.severity) for f in found] == [("AIR501", Severity.CRITICAL)]
    assert found[0].message.startswith("Jinja string `steps[0].run`")


# Config instantiators --------------------------------------------------------------------


def test_listed_targets_are_info_and_unknown_ones_high(tmp_path: Path) -> None:
    text = (
        "optimizer:\n  _target_: torch.optim.Adam\n  lr: 0.001\n"
        "model:\n  class_path: my_project.models.Net\n  init_args: {depth: 4}\n"
    )
    found = findings(tmp_path, text)
    assert [(f.rule_id, f.severity) for f in found] == [
        ("AIR634", Severity.HIGH),
        ("AIR633", Severity.INFO),
    ]
    assert "`my_project.models.Net`" in found[0].message and "Line 5" in found[0].message
    assert "torch.optim.Adam (line 2)" in found[1].message


def test_dangerous_hydra_target_is_critical(tmp_path: Path) -> None:
    text = "cb:\n  _target_: builtins.eval\n  _args_: [\"__import__('os').system('id')\"]\n"
    found = findings(tmp_path, text)
    assert [(f.rule_id, f.severity) for f in found] == [("AIR633", Severity.CRITICAL)]
    assert "`builtins.eval`" in found[0].message


# Hostile files -----------------------------------------------------------------------------


def test_billion_laughs_is_quick_and_clean(tmp_path: Path) -> None:
    # Ten levels of nine aliases each: 9**10 strings once expanded, 700 bytes as text.
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghi", "bcdefghij", strict=True):
        rows.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    start = time.perf_counter()
    assert findings(tmp_path, "\n".join(rows) + "\n") == []
    assert time.perf_counter() - start < 2


def test_deep_nesting_stops_and_the_text_is_still_searched(tmp_path: Path) -> None:
    text = "a: " + "[" * 200_000 + "\nb: !!python/object/apply:os.system [id]\n"
    start = time.perf_counter()
    found = findings(tmp_path, text)
    assert time.perf_counter() - start < 5
    assert {(f.rule_id, f.severity) for f in found} == {
        ("AIR632", Severity.MEDIUM),
        ("AIR631", Severity.CRITICAL),
    }
    assert any("nesting" in f.message for f in found if f.rule_id == "AIR632")


def test_invalid_yaml_is_a_finding_and_the_rest_is_searched(tmp_path: Path) -> None:
    assert [(f.rule_id, f.severity) for f in findings(tmp_path, "a: [1, 2\nb: c\n")] == [
        ("AIR632", Severity.MEDIUM)
    ]
    text = "a: {b: 1\n%TAG !p! tag:yaml.org,2002:python/\nc: !p!name:os.system\n"
    found = findings(tmp_path, text)
    assert ("AIR631", Severity.CRITICAL) in {(f.rule_id, f.severity) for f in found}
    assert any("past where parsing stopped" in f.message for f in found)


def test_tags_before_a_syntax_error_are_reported_once(tmp_path: Path) -> None:
    text = "a: !!python/object/apply:os.system [id]\nb: [\n"
    found = findings(tmp_path, text)
    assert sorted(f.rule_id for f in found) == ["AIR631", "AIR632"]


def test_non_utf8_is_read_as_cp1252(tmp_path: Path) -> None:
    text = "name: café\nrun: !!python/name:os.system\n".encode("cp1252")
    found = findings(tmp_path, text)
    assert {(f.rule_id, f.severity) for f in found} == {
        ("AIR632", Severity.MEDIUM),
        ("AIR631", Severity.CRITICAL),
    }
    tag = next(f for f in found if f.rule_id == "AIR631")
    assert tag.location.offset == text.index(b"!!python")


def test_utf16_with_a_bom_is_read_like_pyyaml_does(tmp_path: Path) -> None:
    text = "name: café\nrun: !!python/name:os.system\n"
    data = "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
    result = scan(tmp_path, data)
    assert result.kind == "yaml"
    assert [(f.rule_id, f.severity) for f in result.findings] == [("AIR631", Severity.CRITICAL)]
    assert result.findings[0].location.offset == 2 + 2 * text.index("!!python")


def test_multibyte_text_keeps_byte_offsets_and_lines(tmp_path: Path) -> None:
    text = '名前: ü\nx: "a\u2028b"\nrun: !!python/name:os.system\n'
    (tag,) = findings(tmp_path, text)
    assert tag.location.offset == text.encode().index(b"!!python")
    assert tag.message.startswith("Line 4:")  # PyYAML counts U+2028 as a line break


def test_oversized_file_is_not_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_reader, "MAX_YAML_BYTES", 64)
    found = findings(tmp_path, "a: " + "b" * 100 + "\n")
    assert [(f.rule_id, f.severity) for f in found] == [("AIR003", Severity.HIGH)]


def test_empty_and_comment_only_files_are_clean(tmp_path: Path) -> None:
    assert findings(tmp_path, "") == []
    assert findings(tmp_path, "# nothing\n---\n...\n") == []


# Detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        (b"a: 1\n", "config.yaml", Kind.YAML),
        (b"a: 1\n", "hparams.YML", Kind.YAML),
        (b"artifact_path: model\n", "MLmodel", Kind.YAML),
        (b"artifact_path: model\n", "model/MLmodel", Kind.YAML),
        (b'{"a": 1}', "config.yaml", Kind.YAML),  # JSON is YAML to a YAML loader
        (b"\xff\xfea\x00", "config.yaml", Kind.YAML),
        (b"\x80\x04\x95", "config.yaml", Kind.PICKLE),  # content first
        (b"PK\x03\x04", "config.yml", Kind.ZIP),
        (b"a: 1\n", "mlmodel", Kind.TEXT),
        (b'{"a": 1}', "config.json", Kind.JSON),
        (b"a: 1\n", "notes.txt", Kind.TEXT),
    ],
)
def test_detection(head: bytes, name: str, kind: Kind) -> None:
    assert detect(head[:HEAD_BYTES], name) is kind


# Peer corpus -------------------------------------------------------------------------------


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"peer-samples corpus not found at {SAMPLES}")
def test_peer_corpus_yaml_samples() -> None:
    scanner = Scanner()
    malicious = scanner.scan_file(ArtifactFile(SAMPLES / "malicious_config.yaml", "m.yaml"))
    rules = {(f.rule_id, f.message.split("`")[1]) for f in malicious.findings}
    assert {("AIR501", "chat_template"), ("AIR501", "deploy_script")} <= rules
    assert worst(list(malicious.findings)) == Severity.CRITICAL
    benign = scanner.scan_file(ArtifactFile(SAMPLES / "model_config.yaml", "b.yaml"))
    assert benign.kind == "yaml" and benign.findings == ()
