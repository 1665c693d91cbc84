"""The policy's `quality` requirements against the eval results recorded for the model's exact
files: pass, fall short (refuse), or missing (refuse, or admit on condition, as the rule says).

Fail closed: only a result for these exact files counts (its manifest digest is the dossier's);
of several results on one dataset and metric the newest decides, so an older passing run never
outweighs a newer failing one; and a result with failed items (or none) never passes.
"""

from __future__ import annotations

from airlock.dossier.evals import RecordedEval
from airlock.dossier.model import Dossier
from airlock.policy.model import Policy, QualityRule

MIN, MAX, MISSING = "quality.min", "quality.max", "quality.on_missing"


def quality(dossier: Dossier, policy: Policy) -> tuple[list[tuple[str, str]], list[str]]:
    """(refusal reasons as (policy setting, sentence), conditions)."""
    reasons: list[tuple[str, str]] = []
    conditions: list[str] = []
    for rule in policy.quality:
        newest = _newest(rule, dossier)
        if newest is None and rule.on_missing == "conditional":
            conditions.append(
                f"Evaluate it on {_data(rule)} with `airlock eval` before use: your policy "
                f"requires {_bar(rule)} ({rule.where}), and no result is recorded for these "
                "exact files yet."
            )
        elif newest is None:
            reasons.append(
                (
                    MISSING,
                    f"no eval result on {_data(rule)} for {rule.metric} is recorded for these "
                    f"exact files, and your policy requires {_bar(rule)} ({rule.where}): "
                    "evaluate the admitted model with `airlock eval`",
                )
            )
        elif newest.failed or not newest.items:
            reasons.append((_setting(rule), _incomplete(rule, newest)))
        elif not rule.passes(newest.value):
            reasons.append((_setting(rule), _short(rule, newest)))
    return reasons, conditions


def _newest(rule: QualityRule, dossier: Dossier) -> RecordedEval | None:
    found = [
        r
        for r in dossier.evals
        if r.manifest_digest == dossier.provenance.digest
        and r.dataset.name == rule.dataset
        and r.metric == rule.metric
        and (rule.sha256 is None or r.dataset.sha256 == rule.sha256)
    ]
    return max(found, key=lambda r: r.recorded_at, default=None)


def _setting(rule: QualityRule) -> str:
    return MIN if rule.min is not None else MAX


def _incomplete(rule: QualityRule, result: RecordedEval) -> str:
    # Whether a failed item counts as wrong or is left out is the metric's business; either
    # way the model did not answer every item, so the result cannot show that it meets the bar.
    what = f"{result.failed} of {result.items} items failed" if result.items else "no item ran"
    return (
        f"the newest result on {_data(rule)} does not show the model meets your policy: {what} "
        f"(recorded {result.recorded_at[:10]} by {result.recorded_by}; {rule.where}): fix the "
        "failures and evaluate it again with `airlock eval`"
    )


def _short(rule: QualityRule, result: RecordedEval) -> str:
    threshold = rule.min if rule.min is not None else rule.max
    assert threshold is not None  # the schema sets exactly one
    side = "below the minimum" if rule.min is not None else "above the maximum"
    return (
        f"the model falls short of your policy on {_data(rule)}: {rule.metric} is "
        f"{shown(result.value, threshold)}, {side} of {threshold:g} (recorded "
        f"{result.recorded_at[:10]} by {result.recorded_by}, {result.dataset.items} items; "
        f"{rule.where})"
    )


def _data(rule: QualityRule) -> str:
    pinned = f" (sha256 {rule.sha256[:12]}...)" if rule.sha256 else ""
    return f"{rule.dataset}{pinned}"


def _bar(rule: QualityRule) -> str:
    if rule.min is not None:
        return f"{rule.metric} of at least {rule.min:g}"
    return f"{rule.metric} of at most {rule.max:g}"


def shown(value: float, threshold: float) -> str:
    """`value` in few digits, but never so few that it reads as the threshold it missed."""
    for digits in range(4, 18):
        text = f"{value:.{digits}g}"
        if value == threshold or float(text) != threshold:
            return text
    return repr(value)
