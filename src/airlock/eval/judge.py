"""An optional judge model rates each generated answer with a rubric (`--judge`): its prompt
(data/eval_judge.toml, or the rubric given) is shown in every report. A judge answer with no
readable "Score: N" rates the answer lowest and is counted: a judge that cannot be read must not
make a candidate look better."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources

from airlock.eval.candidates.interface import Candidate, ItemFailed
from airlock.eval.datasets.interface import GenerationItem
from airlock.eval.usage import Usage

LOWEST, HIGHEST = 1, 5
_SCORE = re.compile(r"score\s*[:=]?\s*\**\s*\[*([1-5])\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{(rubric|question|reference|answer)\}")
JUDGE_TOKENS = 256


def default_prompt() -> tuple[str, str]:
    """(template, rubric) as shipped."""
    text = resources.files("airlock.data").joinpath("eval_judge.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return str(data["template"]), str(data["rubric"])


def fill(template: str, values: dict[str, str]) -> str:
    """Each placeholder replaced once, in one pass: text put in is never read as a placeholder."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass
class Judge:
    candidate: Candidate
    template: str
    rubric: str
    usage: Usage = field(default_factory=Usage)

    @property
    def prompt(self) -> str:
        """The prompt with the rubric in and the item's placeholders left (the report shows it)."""
        return fill(self.template, {"rubric": self.rubric})

    def rate(self, item: GenerationItem, answer: str) -> float:
        """The answer's rating scaled to 0..1 (1 -> 0, 5 -> 1); 0 when unreadable."""
        text = fill(
            self.template,
            {
                "rubric": self.rubric,
                "question": item.question,
                "reference": " | ".join(item.references) or "(none given)",
                "answer": answer,
            },
        )
        ask = GenerationItem(item.where, messages=({"role": "user", "content": text},))
        try:
            said = self.usage.timed(lambda: self.candidate.generate(ask, JUDGE_TOKENS))
        except ItemFailed as exc:
            self.usage.fail(item.where, f"the judge gave no answer: {exc}")
            return 0.0
        self.usage.prompt_tokens += said.prompt_tokens
        self.usage.completion_tokens += said.completion_tokens
        found = _SCORE.findall(said.text)
        if not found:
            self.usage.fail(item.where, f"no 'Score: N' in the judge's answer: {said.text[:200]!r}")
            return 0.0
        return (int(found[-1]) - LOWEST) / (HIGHEST - LOWEST)
