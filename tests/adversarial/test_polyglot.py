"""Issue 12, class 3: one file, several formats.

Each sample is valid as two formats at once and carries a payload that creates a canary under
the loader that reads the dangerous one: a tar whose first header's name field is a pickle,
YAML / Jinja / Python text that is also a protocol-0 pickle (or a harmless pickle hiding the
payload in the text reading), a GGUF, safetensors or HDF5 file whose first bytes unpickle, a
pickle with a zip after it. Each is proved live once with the real loader, then the default
scan must block it (>= high) and report the polyglot itself (AIR005) where the bytes are really
two formats. The benign set is made on the spot with the real libraries and must stay clean.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from adversarial.live import assert_blocked, assert_clean, describe, prove_live, scan
from airlock.findings import Finding, Severity

CANARY = "c"  # created in the sample's folder: every live proof runs there (short enough for
# a payload that must fit in a tar header's 100-byte name field)
TOUCH = f"touch {CANARY}"

YAML_LOADER = "import yaml\nwith open(path) as f: yaml.unsafe_load(f)"
JINJA_LOADER = "import jinja2\njinja2.Environment().from_string(open(path).read()).render()"
PYTHON_LOADER = "import runpy\nrunpy.run_path(path)"
ZIP_MEMBER_LOADER = (
    "import pickle, zipfile\nwith zipfile.ZipFile(path) as z: pickle.loads(z.read('state.pkl'))"
)


class _System:
    """Pickles as a call of os.system (spelled `posix.system` on Linux) with `command`."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
        return os.system, (self.command,)


def payload(protocol: int = 0, command: str = TOUCH) -> bytes:
    return pickle.dumps(_System(command), protocol=protocol)


# Builders ----------------------------------------------------------------------------------


def tar_named(name: bytes, fmt: int = tarfile.USTAR_FORMAT, data: bytes = b"x") -> bytes:
    """A tar written by tarfile whose first member is named `name` (raw bytes, <= 100)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def fix_checksum(header: bytearray, delta: int = 0) -> None:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % (sum(header[:512]) + delta)


def tar_v7(name: bytes) -> bytes:
    """The same, as a V7 header: no ustar magic, only the checksum says it is a header."""
    data = bytearray(tar_named(name))
    data[257:265] = bytes(8)
    fix_checksum(data)
    return bytes(data)


def tar_bad_checksum(name: bytes) -> bytes:
    """A ustar header with a wrong checksum: tarfile rejects it, so torch.load unpickles it."""
    data = bytearray(tar_named(name))
    fix_checksum(data, delta=1)
    return bytes(data)


def tar_skipping_to_data(inner: bytes) -> bytes:
    """The name field starts a string that covers the rest of the header: the pickle goes on
    in the member's data, so the payload has all the room it needs."""
    skip = b"X" + struct.pack("<I", 512 - 5)  # BINUNICODE up to offset 512
    data = bytearray(tar_named(b"m", data=b"0" + inner))  # POP the string, then the payload
    data[: len(skip)] = skip
    fix_checksum(data)
    return bytes(data)


def gguf_magic_pickle(inner: bytes) -> bytes:
    """`G` is BINFLOAT: it swallows `GUF` and the version, and the opcodes go on from there."""
    return b"GGUF" + struct.pack("<I", 3) + b"\x00" + b"0" + inner


def safetensors_pickle(inner: bytes) -> bytes:
    """A valid safetensors file whose bytes, from byte 0, are also a pickle ending in `inner`.

    The header length's low byte is `X` (BINUNICODE): its 4-byte length covers the rest of
    the length field and the start of the JSON; then SHORT_BINSTRINGs (`U` + a printable length)
    hop through a metadata string and over the rest of the JSON to the tensor data, which
    holds `inner` as a uint8 tensor."""
    length = 40
    header_len = 0x58 + 256 * length
    data_start = 8 + header_len
    prefix = b'{"__metadata__":{"p":"'
    size = len(inner) + 1
    suffix = b'"},"t":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (size, size)
    body = bytearray(b"a" * (header_len - len(prefix) - len(suffix)))
    text_start = 8 + len(prefix)
    allowed = [n for n in range(0x20, 0x7F) if n not in (0x22, 0x5C)]  # no quote, backslash
    pos = 5 + length
    while (left := data_start - pos - 2) not in allowed:
        hop = 100 if left > 2 * 0x7E else next(h for h in allowed if left - 2 - h in allowed)
        body[pos - text_start : pos - text_start + 2] = b"U" + bytes([hop])
        pos += 2 + hop
    body[pos - text_start : pos - text_start + 2] = b"U" + bytes([left])
    header = prefix + bytes(body) + suffix
    return struct.pack("<Q", header_len) + header + b"0" + inner


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def hdf5_with_userblock(path: Path, userblock: bytes, size: int = 512) -> None:
    """An HDF5 file made by h5py with a user block of `size` bytes, which holds `userblock`."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w", userblock_size=size) as handle:
        handle.create_dataset("weights", data=[1.0, 2.0, 3.0])
    with open(path, "r+b") as raw:
        raw.write(userblock)


# Attacks -----------------------------------------------------------------------------------

# (file name, builder, loader, whether the bytes are really two formats)
Sample = tuple[str, Callable[[Path], bytes | None], str, bool]


def _write(path: Path, data: bytes | None) -> None:
    if data is not None:
        path.write_bytes(data)


def _h5(path: Path, userblock: int = 512) -> None:
    hdf5_with_userblock(path, payload(0), userblock)


def _zip_appended(path: Path, prefix: bytes) -> None:
    """zipfile in append mode on a non-zip file writes a whole zip after it, with offsets
    counted from the file's start (as self-extracting archives do)."""
    path.write_bytes(prefix)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("config.json", '{"class_name": "Sequential"}')


def _npz_appended(path: Path, prefix: bytes) -> None:
    np = pytest.importorskip("numpy")
    out = io.BytesIO()
    np.savez(out, a=np.ones(3))
    path.write_bytes(prefix + out.getvalue())


def _exec_pickle(path: Path) -> bytes:
    code = f"open({str(path.parent / CANARY)!r}, 'w').write('fired')"
    return b"c__builtin__\nexec\n(V" + code.encode() + b"\ntR."


ATTACKS: dict[str, Sample] = {
    **{
        f"tar-ustar-name-protocol-{p}": ("model.tar", lambda _, p=p: tar_named(payload(p)),
                                         "pickle", True)
        for p in range(6)
    },
    "tar-gnu-name": ("model.pt", lambda _: tar_named(payload(2), tarfile.GNU_FORMAT), "pickle",
                     True),
    "tar-pax-name": ("model.bin", lambda _: tar_named(payload(0), tarfile.PAX_FORMAT), "numpy",
                     True),
    "tar-v7-name": ("model.ckpt", lambda _: tar_v7(payload(0)), "pickle", True),
    "tar-bad-checksum-torch": ("pytorch_model.bin", lambda _: tar_bad_checksum(payload(2)),
                               "torch", True),
    "tar-inst-opcode": ("model.pkl", lambda _: tar_named(b"(S'" + TOUCH.encode()
                                                          + b"'\niposix\nsystem\n."),
                        "pickle", True),
    "tar-name-skips-to-data": ("model.joblib", lambda p: tar_skipping_to_data(
        payload(2, f"touch {p.parent / CANARY}")), "joblib", True),
    "yaml-is-pickle": ("config.yaml", lambda _: payload(0), "pickle", True),
    "mlmodel-is-pickle": ("MLmodel", lambda _: payload(0), "pickle", True),
    "yaml-behind-pickle": ("hparams.yml", lambda _: (
        b"N.: !!python/object/apply:os.system ['" + TOUCH.encode() + b"']\n"), YAML_LOADER, True),
    "yaml-behind-mark-pickle": ("config.yaml", lambda _: (
        b"(N.: !!python/object/apply:subprocess.check_call [['touch', 'c']]\n"), YAML_LOADER, True),
    "jinja-is-pickle": ("chat_template.jinja", lambda _: payload(0) + b"{{ messages }}",
                        "pickle", True),
    "jinja-behind-pickle": ("chat_template.jinja", lambda _: (
        b"N.{{ cycler.__init__.__globals__.os.popen('" + TOUCH.encode() + b"').read() }}"),
        JINJA_LOADER, True),
    "python-is-pickle": ("modeling_evil.py", lambda _: payload(0), "pickle", True),
    "python-behind-pickle": ("modeling_evil.py", lambda _: (
        b"().__class__\nimport os\nos.system('" + TOUCH.encode() + b"')\n"), PYTHON_LOADER, True),
    "json-named-pickle": ("model.json", lambda _: payload(0), "pickle", False),
    "gguf-magic-pickle": ("model.gguf", lambda _: gguf_magic_pickle(payload(2)), "pickle", True),
    "safetensors-pickle": ("model.safetensors", lambda _: safetensors_pickle(payload(0)),
                           "pickle", True),
    # torch.load reads `*.safetensors` with safetensors (torch 2.13), any other name as below.
    "safetensors-pickle-torch": ("pytorch_model.bin", lambda _: safetensors_pickle(payload(2)),
                                 "torch", True),
    "pickle-then-zip": ("model.pkl", lambda _: payload(2) + zip_bytes({"a.txt": b"hi"}),
                        "pickle", True),
    "zip-after-harmless-pickle": ("model.keras", lambda _: (
        pickle.dumps({"ok": 1}, protocol=2) + zip_bytes({"state.pkl": payload(2)})),
        ZIP_MEMBER_LOADER, True),
    "pickle-in-hdf5-userblock": ("model.h5", lambda p: _h5(p), "pickle", True),
    "pickle-in-hdf5-userblock-1024": ("weights.h5", lambda p: _h5(p, 1024), "numpy", True),
    # More spellings of the same overlaps: other names loaders read by, other opcodes.
    "yml-is-pickle-exec": ("hparams.yml", lambda p: _exec_pickle(p), "pickle", True),
    "yaml-pickle-breaks-after-call": ("config.yaml", lambda _: (
        b"cos\nsystem\n(S'" + TOUCH.encode() + b"'\ntR\nmodel: llama\n"), "pickle", True),
    "yaml-is-inst-pickle": ("config.yaml", lambda _: (
        b"(S'" + TOUCH.encode() + b"'\nios\nsystem\n."), "pickle", True),
    "jinja2-is-pickle": ("template.jinja2", lambda _: payload(0) + b"{% if x %}{% endif %}",
                         "pickle", True),
    "j2-is-pickle": ("prompt.j2", lambda _: payload(0) + b"{{ x }}", "joblib", True),
    "python-is-pickle-torch": ("tokenization_evil.py", lambda _: payload(0), "torch", True),
    "gguf-magic-pickle-protocol-0": ("model.gguf", lambda _: gguf_magic_pickle(payload(0)),
                                     "numpy", True),
    "safetensors-pickle-protocol-4": ("model.safetensors",
                                      lambda _: safetensors_pickle(payload(4)), "pickle", True),
    "pickle-then-torch-zip": ("pytorch_model.bin", lambda _: payload(2) + zip_bytes(
        {"archive/data.pkl": pickle.dumps({}, protocol=2), "archive/version": b"3\n"}),
        "joblib", True),
    "pickle-then-zip-absolute-offsets": ("model.keras", lambda p: _zip_appended(p, payload(4)),
                                         "pickle", True),
    "pickle-then-npz": ("arrays.npz", lambda p: _npz_appended(p, payload(2)), "numpy", True),
    "npy-named-pickle": ("weights.npy", lambda _: payload(2), "numpy", False),
    # A first opcode longer than the 4 KiB head: only a probe of the whole file sees a pickle.
    "long-first-string-bin": ("model.bin", lambda _: (
        b"S'" + b"A" * 6000 + b"'\n0" + payload(0)), "torch", False),
    "long-first-unicode-txt": ("notes.txt", lambda _: (
        b"V" + b"A" * 6000 + b"\n0" + payload(0)), "pickle", False),
}  # fmt: skip


@pytest.mark.parametrize("sample", sorted(ATTACKS))
def test_polyglot_is_blocked(sample: str, tmp_path: Path) -> None:
    name, build, loader, two_formats = ATTACKS[sample]
    path, canary = tmp_path / name, tmp_path / CANARY
    _write(path, build(path))
    if loader in ("pickle", "torch", "joblib", "numpy"):
        prove_live(loader, path, canary)
    else:
        _need(loader)
        prove_live("custom", path, canary, code=loader)
    findings = assert_blocked(path, canary, Severity.HIGH)
    polyglot = [f for f in findings if f.rule_id == "AIR005"]
    if two_formats:
        assert polyglot and polyglot[0].severity >= Severity.HIGH, describe(findings)
    assert _worst(findings) >= Severity.HIGH


def _need(loader: str) -> None:
    for module in ("yaml", "jinja2"):
        if f"import {module}" in loader and importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")


def _worst(findings: list[Finding]) -> Severity:
    return max(f.severity for f in findings)


def test_the_polyglots_are_really_both_formats(tmp_path: Path) -> None:
    """The other reading is real too: the format's own library opens each sample."""
    with tarfile.open(fileobj=io.BytesIO(tar_named(payload(0)))) as archive:
        assert len(archive.getmembers()) == 1
    with tarfile.open(fileobj=io.BytesIO(tar_v7(payload(0)))) as archive:
        assert len(archive.getmembers()) == 1
    with zipfile.ZipFile(io.BytesIO(payload(2) + zip_bytes({"a.txt": b"hi"}))) as archive:
        assert archive.read("a.txt") == b"hi"
    yaml = pytest.importorskip("yaml")
    assert isinstance(yaml.safe_load(payload(0)), str)  # a plain multi-line scalar
    st = tmp_path / "m.safetensors"
    st.write_bytes(safetensors_pickle(payload(0)))
    safetensors = pytest.importorskip("safetensors")
    with safetensors.safe_open(str(st), "np") as handle:
        assert list(handle.keys()) == ["t"]
    h5 = tmp_path / "m.h5"
    hdf5_with_userblock(h5, payload(0))
    h5py = pytest.importorskip("h5py")
    with h5py.File(h5, "r") as handle:
        assert list(handle) == ["weights"]


def test_the_kind_reported_stays_the_primary_one(tmp_path: Path) -> None:
    from airlock.artifact import ArtifactFile
    from airlock.scan.scanner import Scanner

    path = tmp_path / "model.tar"
    path.write_bytes(tar_named(payload(0)))
    result = Scanner().scan_file(ArtifactFile(path, str(path)))
    assert result.kind == "tar"
    assert {"AIR005", "AIR101"} <= {f.rule_id for f in result.findings}


# Benign ------------------------------------------------------------------------------------

LLAMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}"
)
MODELING = '''"""A tiny model."""
import torch
from torch import nn


class TinyModel(nn.Module):
    def __init__(self, size: int = 4) -> None:
        super().__init__()
        self.linear = nn.Linear(size, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)
'''
HYDRA = b"""defaults:
  - _self_
model:
  _target_: torch.nn.Linear
  in_features: 4
  out_features: 2
trainer:
  max_epochs: 3
  precision: bf16-mixed
"""
# Member names that start with bytes a pickle stream can start with (`c` GLOBAL, `V`
# UNICODE, `G` BINFLOAT, `M` BININT2, `N` NONE, `(` MARK...).
TAR_MEMBERS = {
    "config.json": b'{"model_type": "llama"}',
    "Vicuna-7b/README.md": b"# Vicuna\n",
    "GPT2/merges.txt": b"#version: 0.2\nG t\n",
    "MiniLM/vocab.txt": b"[PAD]\n[UNK]\n",
    "NOTICE": b"Copyright\n",
    "(draft)/notes.txt": b"draft\n",
}


def _tar(members: dict[str, bytes], fmt: int, mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode, format=fmt) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _benign_files(folder: Path) -> list[Path]:
    """Real files written by the libraries that write them (optional ones when installed)."""
    files: dict[str, bytes] = {
        "config.yaml": HYDRA,
        "config.json": json.dumps({"model_type": "llama", "hidden_size": 64}).encode(),
        "tokenizer_config.json": json.dumps({"chat_template": LLAMA_TEMPLATE}).encode(),
        "chat_template.jinja": LLAMA_TEMPLATE.encode(),
        "modeling_tiny.py": MODELING.encode(),
        "README.md": b"---\nlicense: apache-2.0\n---\n# Tiny\n",
        "labels.yaml": b"- cat\n- dog\n",
        # Text read by its name whose first bytes decode as opcodes for a while (`P` PERSID,
        # `V` UNICODE, `c` GLOBAL, `I` INT, `(` MARK): no import, no STOP, so not a pickle.
        "constants.py": b'PERIOD_PREFIX = "P"\nTIME_PREFIX = "T"\nWEEK_PREFIX = "W"\n',
        "modeling_cls.py": b"class Config:\n    hidden_size = 64\n",
        "versions.yaml": b"Version: 2\nVocab: 32000\n",
        "cfg.yml": b"cfg\nlr\n",
        "ids.yaml": b"I1: one\nI2: two\n",
        "notes.jinja": b"(draft) {{ messages[0]['content'] }}\n",
        "archive.tar": _tar(TAR_MEMBERS, tarfile.USTAR_FORMAT),
        "archive-gnu.tar": _tar(TAR_MEMBERS, tarfile.GNU_FORMAT),
        "archive-pax.tar": _tar(TAR_MEMBERS, tarfile.PAX_FORMAT),
        "archive.tar.gz": _tar(TAR_MEMBERS, tarfile.PAX_FORMAT, "w:gz"),
        "archive.zip": zip_bytes(TAR_MEMBERS),
        "state.pkl": pickle.dumps({"step": 3, "lr": 0.1}, protocol=0),
        "state4.pkl": pickle.dumps({"weights": [1.0, 2.0]}, protocol=4),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    made = [folder / name for name in files]
    made += _library_files(folder)
    return made


def _library_files(folder: Path) -> list[Path]:
    made: list[Path] = []
    if importlib.util.find_spec("numpy") is not None:
        import numpy as np

        np.save(folder / "array.npy", np.arange(12, dtype=np.float32))
        np.savez(folder / "arrays.npz", a=np.ones(3), b=np.zeros((2, 2)))
        made += [folder / "array.npy", folder / "arrays.npz"]
        if importlib.util.find_spec("safetensors") is not None:
            from safetensors.numpy import save_file

            save_file({"w": np.ones((4, 4), dtype=np.float32)}, str(folder / "m.safetensors"),
                      metadata={"format": "np"})  # fmt: skip
            made.append(folder / "m.safetensors")
        if importlib.util.find_spec("joblib") is not None:
            import joblib

            joblib.dump({"coef": np.arange(5.0)}, folder / "model.joblib")
            made.append(folder / "model.joblib")
        if importlib.util.find_spec("gguf") is not None:
            import gguf

            writer = gguf.GGUFWriter(str(folder / "tiny.gguf"), "llama")
            writer.add_chat_template(LLAMA_TEMPLATE)
            writer.add_tensor("w", np.ones((4, 4), dtype=np.float32))
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
            writer.close()
            made.append(folder / "tiny.gguf")
        if importlib.util.find_spec("h5py") is not None:
            import h5py

            with h5py.File(folder / "plain.h5", "w") as handle:
                handle.create_dataset("w", data=np.ones(3))
            with h5py.File(folder / "userblock.h5", "w", userblock_size=512) as handle:
                handle.create_dataset("w", data=np.ones(3))
            made += [folder / "plain.h5", folder / "userblock.h5"]
            # Archives whose first member's data (an HDF5 superblock at offset 512) or last
            # member (a zip's end record near the end) is another format: scanned as members.
            h5 = (folder / "plain.h5").read_bytes()
            npz = (folder / "arrays.npz").read_bytes()
            (folder / "keras-h5.tar").write_bytes(_tar({"model.h5": h5}, tarfile.USTAR_FORMAT))
            (folder / "last-npz.tar").write_bytes(
                _tar({"a.txt": b"a", "arrays.npz": npz}, tarfile.GNU_FORMAT)
            )
            (folder / "h5-then-npz.zip").write_bytes(zip_bytes({"model.h5": h5, "a.npz": npz}))
            made += [folder / "keras-h5.tar", folder / "last-npz.tar", folder / "h5-then-npz.zip"]
    if importlib.util.find_spec("torch") is not None:
        import torch

        state = {"linear.weight": torch.ones(2, 2), "linear.bias": torch.zeros(2)}
        torch.save(state, folder / "pytorch_model.bin")
        torch.save(state, folder / "legacy.pt", _use_new_zipfile_serialization=False)
        made += [folder / "pytorch_model.bin", folder / "legacy.pt"]
    return made


def test_benign_files_are_single_format_and_clean(tmp_path: Path) -> None:
    files = _benign_files(tmp_path)
    assert len(files) >= 20
    for path in files:
        findings = assert_clean(path)
        assert not [f for f in findings if f.rule_id == "AIR005"], describe(findings)


def test_benign_folder_scan_has_no_polyglot(tmp_path: Path) -> None:
    _benign_files(tmp_path)
    findings = scan(tmp_path)
    assert not [f for f in findings if f.rule_id == "AIR005" or f.severity >= Severity.HIGH], (
        describe(findings)
    )
