"""Python source in a model folder: custom code that `trust_remote_code=True` imports.

Every such file is reported once (info) so it gets reviewed; what it does that matters (commands,
dynamic code, network, secrets, obfuscation) is reported line by line by `analyzers.python_code`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from airlock.findings import Finding
from airlock.scan.analyzers.python_code import analyze
from airlock.scan.context import Blob, Kind, Reader, ScanContext, too_large

# Model code is tens to hundreds of kilobytes. Parsing hostile source costs up to ~700 bytes of
# memory per byte (a 5 MB list literal takes 3.4 GB), so larger files are reported, not parsed.
MAX_SOURCE_BYTES = 2 * 1024 * 1024
_MAX_IMPORTS_SHOWN = 12
_MAX_LINE_SHOWN = 160
# torch.jit.save writes the model's TorchScript as code/__torch__/... inside the archive.
_TORCHSCRIPT_CODE = re.compile(r"(^|/)code/__torch__(/|\.py$)")
# transformers' get_relative_imports (dynamic_module_utils.py): these lines of the raw text, code
# or not, name the modules copied and imported with the entry module (`x` means `x.py`).
_RELATIVE_IMPORTS = (
    re.compile(rb"^\s*import\s+\.(\S+)\s*$", re.MULTILINE),
    re.compile(rb"^\s*from\s+\.(\S+)\s+import", re.MULTILINE),
)
_MAX_RELATIVE_IMPORTS = 64


class PythonReader(Reader):
    kinds = (Kind.PYTHON,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        if len(blob.data) > MAX_SOURCE_BYTES:
            consequence = ", but `trust_remote_code=True` would run it"
            yield too_large(ctx, blob, "Python", MAX_SOURCE_BYTES, consequence)
            return
        source = bytes(blob.data)
        try:
            analysis = analyze(source)
        except (SyntaxError, ValueError) as exc:  # ValueError covers bad encodings, NUL bytes
            yield ctx.finding(
                "AIR707",
                blob,
                blob.location,
                f"`{blob.name}` is not valid Python ({type(exc).__name__}: {exc}); it could not "
                "be inspected.",
            )
            return
        except (RecursionError, MemoryError) as exc:
            yield ctx.finding(
                "AIR003",
                blob,
                blob.location,
                f"`{blob.name}` is nested too deeply to inspect ({type(exc).__name__}); "
                "`trust_remote_code=True` may still run it.",
            )
            return
        modules = sorted({name.lstrip(".").partition(".")[0] or "." for name in analysis.imports})
        shown = ", ".join(modules[:_MAX_IMPORTS_SHOWN]) or "nothing"
        more = (
            f"; over {len(analysis.issues)} risky lines, not all listed"
            if analysis.truncated
            else ""
        )
        runner = (
            "`torch.jit.load` compiles and runs (TorchScript)"
            if _TORCHSCRIPT_CODE.search(blob.name)
            else "`trust_remote_code=True` would run"
        )
        yield ctx.finding(
            "AIR701",
            blob,
            blob.location,
            f"`{blob.name}` is custom code that {runner}; review it (imports {shown}{more}).",
            shown,
        )
        yield from _missing_relative_imports(source, blob, ctx)
        # bytes.splitlines breaks at \n, \r and \r\n only, as Python's tokenizer counts lines.
        lines = source.splitlines(keepends=True)
        starts = list(itertools.accumulate(map(len, lines), initial=0))
        for issue in analysis.issues:
            known = 0 < issue.line <= len(lines)
            text = lines[issue.line - 1] if known else b""
            shown_line = text.strip().decode("utf-8", "replace")[:_MAX_LINE_SHOWN]
            yield ctx.finding(
                issue.rule_id,
                blob,
                blob.location.at(starts[issue.line - 1]) if known else blob.location,
                f"Line {issue.line} {issue.message}.",
                f"line {issue.line}: {shown_line}",
                severity=issue.severity,
            )


def _missing_relative_imports(source: bytes, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Modules this file imports relatively that are not next to it: `trust_remote_code` fetches
    them from wherever the model comes from, so the code that runs is not here to inspect."""
    if blob.location.members:
        return  # inside an archive: the members are scanned where they are
    names = sorted({m.group(1).decode("utf-8", "replace") for p in _RELATIVE_IMPORTS
                    for m in p.finditer(source)})  # fmt: skip
    folder = Path(blob.file).parent
    for name in names[:_MAX_RELATIVE_IMPORTS]:
        if not (folder / f"{name}.py").is_file():
            yield ctx.finding(
                "AIR713",
                blob,
                blob.location,
                f"`{blob.name}` imports `.{name}`, but `{name}.py` is not in the folder: "
                "`trust_remote_code=True` fetches and runs it with this file, and it could not "
                "be inspected.",
                f".{name}",
            )
