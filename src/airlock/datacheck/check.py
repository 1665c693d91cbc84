"""One pass over every record of every input, through every check; then duplicates and
leakage are resolved from the sketches. Memory: the sketches and one length per record
(duplicates.py, lengths.py), a batch of records, and bounded examples (tally.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from airlock.datacheck import inputs, scripts, sensitive
from airlock.datacheck.duplicates import AGAINST, CHECKED, DuplicateIndex, Pair, Pairs
from airlock.datacheck.labels import Labels
from airlock.datacheck.lengths import Lengths, LengthSummary
from airlock.datacheck.readers.interface import Source
from airlock.datacheck.records import WHOLE_FILE, Problem, Record
from airlock.datacheck.report import DataReport, InputFile, TokenLimit
from airlock.datacheck.sketch import Sketcher
from airlock.datacheck.tally import Tally
from airlock.datacheck.tokens import ModelTokenizer
from airlock.findings import Finding, Location, Severity
from airlock.rules import rule

BATCH = 1024
NOT_READ = "AIR910"
_SIDES = {CHECKED: "checked", AGAINST: "against"}


@dataclass(frozen=True)
class CheckOptions:
    near_threshold: float = 0.8
    max_pairs: int = 20  # pairs listed per kind, and examples per rule
    tokenizer: ModelTokenizer | None = None


class Progress(Protocol):
    def start(self, total_bytes: int) -> None: ...

    def update(self, done_bytes: int, records: int) -> None: ...


def run(
    paths: list[str], against: list[str], options: CheckOptions, progress: Progress | None = None
) -> DataReport:
    """Check `paths` (and their overlap with `against`); raises DataError on unreadable input."""
    plan = [(s, CHECKED) for p in paths for s in inputs.sources(p)]
    plan += [(s, AGAINST) for p in against for s in inputs.sources(p)]
    checker = _Checker(options, bool(against))
    if progress is not None:
        progress.start(sum(source.size for source, _ in plan))
    read = []
    for source, side in plan:
        count = checker.read(source, side, progress)
        read.append(InputFile(source.display, source.format, count, _SIDES[side]))
    return checker.report(tuple(read))


class _Checker:
    def __init__(self, options: CheckOptions, against: bool) -> None:
        self.options = options
        self.tally = Tally(options.max_pairs)
        self.index = DuplicateIndex(Sketcher(options.near_threshold), against)
        self.lengths: dict[str, Lengths] = {}
        self.tokens: dict[str, Lengths] = {}
        self.labels = Labels()
        self.scripts: Counter[str] = Counter()
        self.done_bytes = 0
        self.records = 0

    def read(self, source: Source, side: int, progress: Progress | None) -> int:
        count = 0
        for batch in _batches(source.read()):
            records = [item for item in batch if isinstance(item, Record)]
            for item in batch:
                # --against data is only compared; but a file of it that could not be read
                # was not compared either, which the report must say.
                if isinstance(item, Problem) and (side == CHECKED or item.rule_id == NOT_READ):
                    self._problem(item)
            if side == CHECKED:
                self._check(records)
            self.index.add(records, side)
            count += len(records)
            self.records += len(records)
            if progress is not None:
                progress.update(self.done_bytes + source.done, self.records)
        self.done_bytes += source.size
        return count

    def _problem(self, problem: Problem) -> None:
        self.tally.add(problem.rule_id, "", partial(_problem, problem))

    def _check(self, records: list[Record]) -> None:
        for record in records:
            self._empty(record)
            for field, text in record.texts:
                for hit in sensitive.find(text):
                    self.tally.add(
                        hit.pattern.rule_id,
                        hit.pattern.kind,
                        partial(_sensitive, record, field, text, hit),
                    )
            self.lengths.setdefault(record.group, Lengths("characters")).add(len(record.key))
            if record.label is not None:
                self.labels.add(record.label)
            self.scripts[scripts.dominant(record.key)] += 1
        tokenizer = self.options.tokenizer
        if tokenizer is not None and records:
            for record, count in zip(
                records, tokenizer.count([r.key for r in records]), strict=True
            ):
                self.tokens.setdefault(record.group, Lengths("tokens")).add(count)
                if count > tokenizer.limit:
                    self.tally.add("AIR913", "", partial(_too_long, record, count, tokenizer))

    def _empty(self, record: Record) -> None:
        for field, text in record.must_have_text:
            if not text.strip():
                kind = "empty" if not text else "whitespace-only"
                self.tally.add("AIR912", kind, partial(_empty, record, field, kind))

    def report(self, read: tuple[InputFile, ...]) -> DataReport:
        found = self.index.resolve(self.options.max_pairs)
        self._pairs("AIR920", found.exact, "same text as {first}")
        self._pairs(
            "AIR921",
            found.near,
            "nearly the same text as {first} (similarity {similarity:.2f})",
        )
        if found.leaked is not None and found.near_leaked is not None:
            self._pairs(
                "AIR922",
                found.leaked,
                "also in the other data: {second}",
                checked_first=True,
            )
            self._pairs(
                "AIR923",
                found.near_leaked,
                "nearly the same as {second} in the other data (similarity {similarity:.2f})",
                checked_first=True,
            )
        labels = self.labels.summary(sensitive.redact)
        if labels is not None and labels.imbalanced:
            (top, most), (rare, fewest) = labels.counts[0], labels.counts[-1]
            where = ", ".join(i.path for i in read if i.side == "checked")
            message = f"label {top!r} has {most:,} records, label {rare!r} only {fewest:,}"
            self.tally.add(
                "AIR940",
                "",
                lambda: Finding("AIR940", _severity("AIR940"), where, Location(), message),
            )
        tokenizer = self.options.tokenizer
        return DataReport(
            inputs=read,
            findings=self.tally.counts(),
            exact_duplicates=found.exact,
            near_duplicates=found.near,
            leaked=found.leaked,
            near_leaked=found.near_leaked,
            near_threshold=self.options.near_threshold,
            lengths=_summaries(self.lengths),
            tokens=_summaries(self.tokens),
            token_limit=None
            if tokenizer is None
            else TokenLimit(tokenizer.model, tokenizer.limit, tokenizer.limit_source),
            labels=labels,
            scripts=tuple(sorted(self.scripts.items(), key=lambda kv: (-kv[1], kv[0]))),
        )

    def _pairs(self, rule_id: str, pairs: Pairs, words: str, checked_first: bool = False) -> None:
        examples = [_pair_finding(rule_id, pair, words, checked_first) for pair in pairs.pairs]
        self.tally.add_counted(rule_id, "", pairs.records, examples)


def _batches(items: Iterator[Record | Problem]) -> Iterator[list[Record | Problem]]:
    batch: list[Record | Problem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _severity(rule_id: str) -> Severity:
    return rule(rule_id).default_severity


def _summaries(lengths: dict[str, Lengths]) -> tuple[tuple[str, LengthSummary], ...]:
    found = ((group, lengths[group].summary()) for group in sorted(lengths))
    return tuple((group, summary) for group, summary in found if summary is not None)


def _problem(problem: Problem) -> Finding:
    members = (problem.where,) if problem.where else ()
    message = sensitive.redact(problem.message)  # it may quote a value of the record
    return Finding(
        problem.rule_id, _severity(problem.rule_id), problem.file, Location(members), message
    )


def _at(record: Record, field: str) -> tuple[str, ...]:
    """The Location members of a field. A field's name is data too (a JSON key, a CSV
    header), and may hold what a report must not print."""
    return tuple(part for part in (record.where, sensitive.redact(field)) if part)


def _sensitive(record: Record, field: str, text: str, hit: sensitive.Hit) -> Finding:
    """Where the value is and what kind it is; never the value (the evidence says only its
    kind and length)."""
    pattern = hit.pattern
    offset = len(text[: hit.start].encode("utf-8"))  # the Location's offset is in bytes
    if record.unit == WHOLE_FILE:  # a text file: the line in the file
        members: tuple[str, ...] = (f"line {text.count(chr(10), 0, hit.start) + 1}",)
    else:
        members = _at(record, field)
    return Finding(
        pattern.rule_id,
        _severity(pattern.rule_id),
        record.file,
        Location(members, offset),
        f"{pattern.title} (characters {hit.start:,}-{hit.end:,})",
        f"[redacted {pattern.kind}, {hit.end - hit.start} characters]",
    )


def _empty(record: Record, field: str, kind: str) -> Finding:
    special = {"record": "the record has", "file": "the file has"}
    what = special.get(field) or f"`{sensitive.redact(field)}` has"
    words = "no text" if kind == "empty" else "only whitespace"
    return Finding(
        "AIR912", _severity("AIR912"), record.file, Location(_at(record, "")), f"{what} {words}"
    )


def _too_long(record: Record, count: int, tokenizer: ModelTokenizer) -> Finding:
    message = f"{count:,} tokens, more than the {tokenizer.limit:,} that {tokenizer.model} reads"
    return Finding("AIR913", _severity("AIR913"), record.file, Location(_at(record, "")), message)


def _pair_finding(rule_id: str, pair: Pair, words: str, checked_first: bool) -> Finding:
    """Duplicates are reported at the later copy; leaks at the checked record."""
    at, other = (pair.first, pair.second) if checked_first else (pair.second, pair.first)
    message = words.format(
        first=other.describe(), second=other.describe(), similarity=pair.similarity
    )
    members = (at.where,) if at.where else ()
    return Finding(rule_id, _severity(rule_id), at.file, Location(members), message)
