"""YAML files (`*.yaml`, `*.yml`, MLflow's `MLmodel`): Hydra/OmegaConf, NeMo, ultralytics and
MLflow configs, configs that carry chat templates. Read as PyYAML's safe event stream, never
loaded: `python/` tags are what an unsafe loader would import and call (`analyzers.yaml_objects`),
Jinja-looking strings go to `analyzers.chat_template`, `_target_` / `class_path` values name what a
config instantiator calls."""

from __future__ import annotations

import bisect
import codecs
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from airlock.findings import Finding, Severity
from airlock.scan.analyzers.chat_template import template_findings
from airlock.scan.analyzers.chat_template_json import is_template_key
from airlock.scan.analyzers.instantiate_targets import (
    INSTANTIATE_KEYS,
    TargetJudgement,
    dangerous_string,
    embedded_target,
    eval_resolver,
    is_true,
    judge_instantiate,
    resolve_references,
)
from airlock.scan.analyzers.yaml_objects import python_tag
from airlock.scan.context import Blob, Kind, Reader, ScanContext, too_large
from airlock.scan.formats.yaml_events import Tag, Value, items, tags_in_text
from airlock.scan.names.config_targets import DOTTED

# Configs are kilobytes. libyaml parses ~10 MB/s (the pure-Python fallback ~0.5 MB/s), so
# this bounds a scan to seconds.
MAX_YAML_BYTES = 16 * 1024 * 1024
_MAX_SHOWN = 16  # distinct python tags (dangerous targets) reported per severity
_MAX_TEMPLATES = 1000  # distinct Jinja-looking strings analysed per file
_MAX_TARGETS_LISTED = 12
_MAX_VALUES = 100_000  # scalar values remembered for resolving interpolated targets
# Where a string that is not under a `*chat_template` key looks like Jinja, only what no
# benign string has is reported: GitHub Actions (`${{ matrix.os }}`) and Ansible strings are
# Jinja-like but are not chat templates, and would trip the weaker signals.
_ANY_STRING_RULES = frozenset({"AIR501", "AIR003"})
# The line breaks PyYAML and libyaml count (their marks are the source of line numbers).
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class YamlReader(Reader):
    kinds = (Kind.YAML,)

    def __init__(self, trusted: Iterable[str] = ()) -> None:
        # Exact config targets the organization's policy trusts (its own classes).
        self.trusted = frozenset(trusted)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        if len(blob.data) > MAX_YAML_BYTES:
            yield too_large(ctx, blob, "YAML", MAX_YAML_BYTES)
            return
        source = _decode(bytes(blob.data))
        if source.broken_at is not None:
            yield ctx.finding(
                "AIR632",
                blob,
                blob.location.at(source.broken_at),
                f"`{blob.name}` is not valid {source.declared} (byte {source.broken_at}): "
                "PyYAML refuses the bytes, but a loader that opens the file as text in another "
                f"encoding reads it, so it was inspected as {source.codec}.",
            )
        scan = _Scan(blob, ctx, source, self.trusted)
        for item in items(source.text):
            if isinstance(item, Tag):
                yield from scan.tag(item)
            elif isinstance(item, Value):
                yield from scan.value(item)
            else:
                line, offset, text = source.locate(item.index)
                yield ctx.finding(
                    "AIR632",
                    blob,
                    blob.location.at(offset),
                    f"`{blob.name}` is not valid YAML (line {line}: {item.reason}), so PyYAML "
                    "refuses it; its text was searched for python tags, which another parser "
                    "might still construct.",
                    f"line {line}: {text[:200]}",
                )
                for tag in tags_in_text(source.text):
                    yield from scan.tag(tag)
        yield from scan.finish()


@dataclass(frozen=True)
class _Source:
    """The decoded text, and how character positions map back to lines and bytes."""

    text: str
    codec: str
    bom: int
    declared: str  # the encoding the bytes claim (UTF-8 unless a BOM says otherwise)
    broken_at: int | None  # byte offset where `declared` fails; then read as `codec`

    @cached_property
    def _lines(self) -> tuple[list[int], list[int]]:
        """Character and byte offsets of every line start, built on first use."""
        starts, offsets = [0], [self.bom]
        for match in _BREAK.finditer(self.text):
            chunk = self.text[starts[-1] : match.end()]
            offsets.append(offsets[-1] + len(chunk.encode(self.codec, "replace")))
            starts.append(match.end())
        return starts, offsets

    def locate(self, index: int) -> tuple[int, int, str]:
        """Line number, byte offset and line text of the character at `index`."""
        starts, offsets = self._lines
        line = bisect.bisect_right(starts, index) - 1
        begin = starts[line]
        offset = offsets[line] + len(self.text[begin:index].encode(self.codec, "replace"))
        end = starts[line + 1] if line + 1 < len(starts) else len(self.text)
        return line + 1, offset, self.text[begin:end].strip()


def _decode(raw: bytes) -> _Source:
    """Text as PyYAML reads bytes (a UTF-16 BOM, else UTF-8). Bytes that are not, are read as
    cp1252, which Windows' `open()` uses and which keeps one byte per character."""
    bom, declared = next(((len(b), c) for b, c in _BOMS if raw.startswith(b)), (0, "utf-8"))
    try:
        return _Source(raw[bom:].decode(declared), declared, bom, declared.upper(), None)
    except UnicodeDecodeError as exc:
        broken_at = bom + exc.start
    fallback = declared if bom and declared != "utf-8" else "cp1252"
    text = raw[bom:].decode(fallback, "replace")
    return _Source(text, fallback, bom, declared.upper(), broken_at)


def _dotted(labels: list[str]) -> str:
    """A node's path as OmegaConf spells a reference to it (`a.b.0` for `a.b[0]`)."""
    return ".".join(label.strip("[]") if label.startswith("[") else label for label in labels)


class _Scan:
    """Findings for one file's items, deduplicated and capped so a flood stays small."""

    def __init__(
        self, blob: Blob, ctx: ScanContext, source: _Source, trusted: frozenset[str]
    ) -> None:
        self.blob, self.ctx, self.source, self.trusted = blob, ctx, source, trusted
        self.tags_shown: dict[Severity, set[str]] = {}
        self.tags_more: Counter[Severity] = Counter()
        self.templates: set[tuple[str, bool]] = set()
        self.templates_skipped = 0
        # Reported one by one, capped per severity so that a flood of high ones cannot hide a
        # critical one.
        self.flagged_targets: dict[Severity, set[str]] = {}
        self.targets: dict[str, int] = {}  # allowed targets -> first line
        self.targets_more = 0
        # Reported only if the file names something to instantiate, at the end.
        self.named_callables: dict[str, tuple[Value, str]] = {}
        self.remote_code: Value | None = None
        # Targets spelled as interpolations, judged at the end once every value is known, and
        # the values they may refer to (dotted path -> text).
        self.interpolated: list[tuple[str, Value]] = []
        self.values: dict[str, str] = {}

    def tag(self, item: Tag) -> Iterator[Finding]:
        judged = python_tag(item.tag)
        if judged is None:
            return
        shown = self.tags_shown.setdefault(judged.severity, set())
        if item.tag in shown:
            return
        if len(shown) >= _MAX_SHOWN:
            self.tags_more[judged.severity] += 1
            return
        shown.add(item.tag)
        line, offset, text = self.source.locate(item.index)
        spelled = "!!" + item.tag.removeprefix("tag:yaml.org,2002:")
        where = " (found in the text, past where parsing stopped)" if item.from_text else ""
        yield self.ctx.finding(
            "AIR631",
            self.blob,
            self.blob.location.at(offset),
            f"Line {line}: `{spelled[:200]}`{where}: an unsafe YAML loader "
            f"(`yaml.unsafe_load`, `Loader=yaml.Loader`) {judged.consequence}",
            f"line {line}: {text[:200]}",
            judged.severity,
        )

    def value(self, item: Value) -> Iterator[Finding]:
        label = item.where.label if item.where is not None else None
        if item.where is not None and len(self.values) < _MAX_VALUES:
            self.values[_dotted(item.where.labels())] = item.text
        if label in INSTANTIATE_KEYS:
            yield from self._target(str(label), item)
        elif (embedded := embedded_target(item.text, self.trusted)) is not None:
            yield from self._flagged(str(label), item, embedded)
        elif label == "loader_module" and self.blob.name == "MLmodel":
            yield from self._loader_module(item)
        elif label == "trust_remote_code" and is_true(item.text):
            self.remote_code = self.remote_code or item
        elif (why := dangerous_string(item.text)) and len(self.named_callables) < _MAX_SHOWN:
            self.named_callables.setdefault(item.text.strip(), (item, why))
        if "${" in item.text:
            yield from self._resolver(item)
        if "{{" in item.text or "{%" in item.text:
            yield from self._template(item)

    def _target(self, key: str, item: Value) -> Iterator[Finding]:
        judged = judge_instantiate(key, item.text, self.trusted)
        if judged.rule == "AIR635" and "${" in judged.target:
            if len(self.interpolated) < _MAX_VALUES:
                self.interpolated.append((key, item))
            return
        yield from self._judged(key, item, judged)

    def _judged(self, key: str, item: Value, judged: TargetJudgement) -> Iterator[Finding]:
        target = judged.target
        if not judged.why:  # allowed: listed once at the end
            if target not in self.targets:
                if len(self.targets) >= _MAX_TARGETS_LISTED:
                    self.targets_more += 1
                else:
                    self.targets[target] = self.source.locate(item.index)[0]
            return
        yield from self._flagged(key, item, judged)

    def _resolve_interpolated(self) -> Iterator[Finding]:
        """Targets such as `${fn}` judged as what the file's own values make them; what the
        file alone does not decide stays high (AIR635)."""
        for key, item in self.interpolated:
            node = _dotted(item.where.labels()[:-1]).split(".") if item.where else []
            resolved = resolve_references(item.text.strip(), [n for n in node if n], self.values)
            judged = judge_instantiate(key, item.text, self.trusted)
            if resolved is not None and "${" not in resolved:
                final = judge_instantiate(key, resolved, self.trusted)
                spelled = f"{item.text.strip()[:100]} (= {final.target[:100]})"
                judged = TargetJudgement(spelled, final.rule, final.severity, final.why)
            yield from self._judged(key, item, judged)

    def _flagged(self, key: str, item: Value, judged: TargetJudgement) -> Iterator[Finding]:
        target = judged.target
        flagged = self.flagged_targets.setdefault(judged.severity, set())
        if target in flagged or len(flagged) >= _MAX_SHOWN:
            return
        flagged.add(target)
        line, offset, text = self.source.locate(item.index)
        advice = (
            "Do not instantiate this config."
            if judged.severity is Severity.CRITICAL
            else "Instantiate it only if you trust that code (an organization lists its own "
            "classes in its policy)."
        )
        yield self.ctx.finding(
            judged.rule,
            self.blob,
            self.blob.location.at(offset),
            f"Line {line}: `{key}: {target[:200]}`: a config instantiator (Hydra's "
            f"`instantiate`, LightningCLI) calls `{target[:200]}`, which {judged.why}. {advice}",
            f"line {line}: {text[:200]}",
            judged.severity,
        )

    def _loader_module(self, item: Value) -> Iterator[Finding]:
        """MLflow's `pyfunc.load_model` imports `loader_module` (with the model's `code/`
        folder on `sys.path`) and calls its `_load_pyfunc`: MLflow's own flavors are fine."""
        module = item.text.strip()
        if module.startswith("mlflow.") and DOTTED.fullmatch(module):
            return
        line, offset, text = self.source.locate(item.index)
        yield self.ctx.finding(
            "AIR634",
            self.blob,
            self.blob.location.at(offset),
            f"Line {line}: `loader_module: {module[:200]}`: MLflow's `pyfunc.load_model` imports "
            "this module (the model's `code/` folder is on the import path) and calls its "
            "`_load_pyfunc`; it is not one of MLflow's own flavors.",
            f"line {line}: {text[:200]}",
        )

    def _resolver(self, item: Value) -> Iterator[Finding]:
        severity = eval_resolver(item.text)
        if severity is None:
            return
        line, offset, text = self.source.locate(item.index)
        yield self.ctx.finding(
            "AIR637",
            self.blob,
            self.blob.location.at(offset),
            f"Line {line}: an `${{eval:...}}`-style interpolation: applications that register "
            "Python's `eval` as an OmegaConf resolver run this text as Python when the config "
            "is resolved"
            + ("." if severity is Severity.MEDIUM else ", and it is more than arithmetic."),
            f"line {line}: {text[:200]}",
            severity,
        )

    def _template(self, item: Value) -> Iterator[Finding]:
        labels = item.where.labels() if item.where is not None else []
        chat = any(is_template_key(label) for label in labels)
        if (item.text, chat) in self.templates:
            return
        if len(self.templates) >= _MAX_TEMPLATES:
            self.templates_skipped += 1
            return
        self.templates.add((item.text, chat))
        line, offset, _ = self.source.locate(item.index)
        path = "".join(p if p.startswith("[") or not i else f".{p}" for i, p in enumerate(labels))
        label = f"`{path[:120] or '(document)'}` (YAML line {line})"
        location = self.blob.location.at(offset)
        if chat:
            yield from template_findings(item.text, label, self.blob, location, self.ctx)
            return
        found = template_findings(item.text, label, self.blob, location, self.ctx, "Jinja string")
        yield from (f for f in found if f.rule_id in _ANY_STRING_RULES)

    def finish(self) -> Iterator[Finding]:
        yield from self._resolve_interpolated()
        for severity, count in sorted(self.tags_more.items(), reverse=True):
            yield self.ctx.finding(
                "AIR631",
                self.blob,
                self.blob.location,
                f"{count} more python tags of this severity are not listed (the first "
                f"{_MAX_SHOWN} are).",
                severity=severity,
            )
        if self.templates_skipped:
            yield self.ctx.finding(
                "AIR003",
                self.blob,
                self.blob.location,
                f"`{self.blob.name}` holds more than {_MAX_TEMPLATES} distinct strings that "
                f"look like Jinja templates; {self.templates_skipped} were not inspected.",
            )
        if not (self.targets or self.flagged_targets):
            return
        yield from self._instantiated_values()
        if self.targets:
            listed = ", ".join(f"{t[:120]} (line {n})" for t, n in self.targets.items())
            if self.targets_more:
                listed += f" and {self.targets_more} more"
            yield self.ctx.finding(
                "AIR633",
                self.blob,
                self.blob.location,
                "A config instantiator (Hydra's `instantiate` for `_target_`, LightningCLI for "
                f"`class_path`) imports and calls what this config names: {listed}. All are "
                "on the list of what ordinary configs instantiate.",
                listed,
            )

    def _instantiated_values(self) -> Iterator[Finding]:
        """Values that matter because this config is instantiated."""
        for name, (item, why) in self.named_callables.items():
            line, offset, text = self.source.locate(item.index)
            yield self.ctx.finding(
                "AIR638",
                self.blob,
                self.blob.location.at(offset),
                f"Line {line}: the value `{name[:200]}` names a callable that {why}; in a config "
                "that is instantiated, such a string becomes that callable (jsonargparse's "
                "`Callable` parameters, `hydra.utils.get_method`).",
                f"line {line}: {text[:200]}",
            )
        if self.remote_code is not None:
            line, offset, text = self.source.locate(self.remote_code.index)
            yield self.ctx.finding(
                "AIR636",
                self.blob,
                self.blob.location.at(offset),
                f"Line {line}: `trust_remote_code: true` in a config that is instantiated: "
                "the model it loads runs Python code from its repository, which this config "
                "does not contain.",
                f"line {line}: {text[:200]}",
            )
