"""Re-vet admitted versions: read each version's files again from its source, vet them with
today's policy, rules, allowlists and license knowledge (the `airlock vet` path, `api.vet`), and
suspend the versions that no longer pass. Nothing is deleted; a re-admission lifts it.

A version fails when its files cannot be read, when they no longer match the manifest it was
admitted with (what is vetted must be what is served), or when today's verdict refuses it. A
version admitted with --force was admitted over the refusals it had then: it fails only for a
refusal that was not among them (same policy setting and same message: a new finding under the
same setting is a new refusal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from airlock.api import vet
from airlock.artifact import ArtifactError
from airlock.gateway.changes import notify
from airlock.policy.model import Policy
from airlock.provenance.changes import diff
from airlock.provenance.errors import ProvenanceError
from airlock.registry.evals import for_files
from airlock.registry.store import Record, Registry
from airlock.ruleset import ruleset_digest

_log = logging.getLogger("airlock.revet")

PASSED = "passed"
SUSPENDED = "suspended"  # by this run
STILL_SUSPENDED = "still_suspended"  # suspended earlier: left as it is, not re-vetted
# How many changed files a suspension reason names before "and N more".
_CHANGES_SHOWN = 3


@dataclass(frozen=True)
class Outcome:
    name: str
    version: int
    status: str  # PASSED, SUSPENDED or STILL_SUSPENDED
    reason: str | None  # why it is suspended
    decision: str | None  # today's verdict; None when the files could not be vetted

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Judgement:
    reason: str | None  # None: it still passes
    decision: str | None


def chosen(registry: Registry, names: Sequence[str]) -> list[Record]:
    """Every version of `names` (of every name when empty). Every version, not only the newest
    of each: an older one is still reachable (the mirror serves revisions), so it is held to
    today's rules too."""
    if not names:
        return registry.versions()
    return [record for name in dict.fromkeys(names) for record in registry.versions(name)]


def due(records: Iterable[Record], policy: Policy) -> list[Record]:
    """The versions in service whose last vet applied another policy or rule set."""
    rules = ruleset_digest()
    return [
        r
        for r in records
        if r.suspended_reason is None and not r.vetted_under(policy.digest, rules)
    ]


def revet(
    registry: Registry,
    records: Iterable[Record],
    policy: Policy,
    *,
    actor: str | None = None,
    jobs: int | None = None,
    done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Re-vet each version and suspend those that fail; `done` hears of each as it ends."""
    outcomes = []
    for record in records:
        outcome = _revet_one(registry, record, policy, actor, jobs)
        outcomes.append(outcome)
        if done is not None:
            done(outcome)
    return outcomes


def _revet_one(
    registry: Registry, record: Record, policy: Policy, actor: str | None, jobs: int | None
) -> Outcome:
    if record.suspended_reason is not None:
        return Outcome(record.name, record.version, STILL_SUSPENDED, record.suspended_reason, None)
    judged = judge(registry, record, policy, jobs)
    if judged.reason is None:
        registry.mark_vetted(record.name, record.version, policy)
        return Outcome(record.name, record.version, PASSED, None, judged.decision)
    suspended = registry.suspend(
        record.name,
        record.version,
        judged.reason,
        policy=policy,
        actor=actor,
        details={"decision": judged.decision, "source": record.source},
    )
    if suspended:  # replicas sharing Redis stop serving it at once, not after their cache ends
        problem = notify("model-suspended", record.name)
        if problem is not None:
            _log.warning("suspended %s v%d, but running gateways were not told at once: %s",
                         record.name, record.version, problem)  # fmt: skip
    return Outcome(record.name, record.version, SUSPENDED, judged.reason, judged.decision)


def judge(registry: Registry, record: Record, policy: Policy, jobs: int | None) -> Judgement:
    """Whether `record` still passes under `policy` and today's rules, and why not."""
    try:
        vetted = vet(
            record.source,
            policy,
            jobs=jobs,
            evals=lambda digest: for_files(registry, digest),
        )
    except (ArtifactError, ProvenanceError) as exc:
        return Judgement(f"its files cannot be read: {exc}", None)  # the message names the path
    decision = vetted.verdict.decision.value
    if vetted.dossier.provenance.digest != record.manifest_digest:
        admitted = {f.path: f.sha256 for f in record.files}
        now = {f.path: f.sha256 for f in vetted.dossier.provenance.files}
        changes = diff(admitted, now).describe()
        more = len(changes) - _CHANGES_SHOWN
        shown = "; ".join(changes[:_CHANGES_SHOWN]) + (f"; and {more} more" if more > 0 else "")
        return Judgement(
            f"its files at {record.source} no longer match the admitted manifest ({shown})",
            decision,
        )
    if vetted.verdict.admitted:
        return Judgement(None, decision)
    overridden = {(r["rule"], r["message"]) for r in record.reasons} if record.forced else set()
    refusals = [r for r in vetted.verdict.reasons if (r.rule, r.message) not in overridden]
    if not refusals:
        return Judgement(None, decision)  # refused only for what --force already overrode
    why = "; ".join(f"{r.message} [{r.rule}]" for r in refusals)
    return Judgement(f"policy {policy.name!r} now refuses it: {why}", decision)
