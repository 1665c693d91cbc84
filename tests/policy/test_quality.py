"""The policy's `quality` section: read and checked at its lines, and applied to the eval results
a dossier carries. Only results for the dossier's exact files count; the newest decides."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.vet.conftest import CLEAN

from airlock.dossier.build import build_dossier
from airlock.dossier.evals import EvalDataset, RecordedEval
from airlock.dossier.model import Dossier
from airlock.policy.evaluate import Decision, evaluate
from airlock.policy.model import Policy
from airlock.policy.quality import shown
from airlock.policy.schema import PolicyError, default_policy, parse_policy

SHA = "ab" * 32
REQUIRE = "quality:\n  - dataset: support-faq\n    metric: ndcg@10\n    min: 0.55\n"


def _policy(body: str) -> Policy:
    return parse_policy(("version: 1\n" + body).encode(), "policy.yaml")


def _error(body: str) -> str:
    with pytest.raises(PolicyError) as caught:
        _policy(body)
    return str(caught.value)


@pytest.fixture(scope="module")
def dossier() -> Dossier:
    return build_dossier(CLEAN, default_policy().dossier_options())


def _result(
    dossier: Dossier,
    value: float,
    *,
    at: str = "2026-01-02T03:04:05.000000+00:00",
    metric: str = "ndcg@10",
    dataset: str = "support-faq",
    sha256: str = SHA,
    digest: str | None = None,
) -> RecordedEval:
    return RecordedEval(
        model="clf",
        version=1,
        manifest_digest=digest or dossier.provenance.digest,
        dataset=EvalDataset(dataset, sha256, 1000, 40),
        task="retrieval",
        metric=metric,
        value=value,
        ci95=None,
        items=40,
        failed=0,
        airlock_version="0.1.0",
        recorded_at=at,
        recorded_by="alice",
        run="r1",
    )


def _verdict(dossier: Dossier, body: str, *results: RecordedEval) -> tuple[Decision, list[str]]:
    verdict = evaluate(replace(dossier, evals=results), _policy(body))
    return verdict.decision, [r.message for r in verdict.reasons]


def test_the_requirements_are_read() -> None:
    policy = _policy(
        REQUIRE + "  - {dataset: calls, metric: WER, max: 0.2, on_missing: conditional,"
        f" sha256: 'sha256:{SHA.upper()}'}}\n"
    )
    first, second = policy.quality
    assert (first.dataset, first.metric, first.min, first.max) == (
        "support-faq",
        "ndcg@10",
        0.55,
        None,
    )
    assert first.on_missing == "refuse" and first.sha256 is None and first.where == "policy.yaml:3"
    assert (second.metric, second.max, second.on_missing, second.sha256) == (
        "wer",
        0.2,
        "conditional",
        SHA,
    )
    assert default_policy().quality == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "quality:\n  - {dataset: a, metric: ndgc@5, min: 0.5}\n",
            "policy.yaml:3: `quality.metric` names a metric `airlock eval` does not report: "
            "'ndgc@5' (did you mean `ndcg@5`?)",
        ),
        (
            "quality:\n  - {dataset: a, metric: ndcg, min: 0.5}\n",
            "policy.yaml:3: `quality.metric` 'ndcg' is written ndcg@k with k from 1, e.g. ndcg@10",
        ),
        (
            "quality:\n  - dataset: a\n    metric: wer\n    min: 0.1\n",
            "policy.yaml:5: `quality.min` wer is better when lower: set `max`",
        ),
        (
            "quality:\n  - dataset: a\n    metric: ndcg@10\n    min: 55\n",
            "policy.yaml:5: `quality.min` ndcg@10 is between 0 and 1, not 55",
        ),
        (
            "quality:\n  - dataset: a\n    metric: wer\n    max: -1\n",
            "policy.yaml:5: `quality.max` wer is at least 0, not -1",
        ),
        (
            "quality:\n  - {dataset: a, metric: ndcg@10}\n",
            "policy.yaml:3: `quality` entry needs `min` or `max`",
        ),
        (
            "quality:\n  - {dataset: a, metric: ndcg@10, min: 0.5, max: 0.9}\n",
            "policy.yaml:3: `quality` entry sets both `min` and `max`: set one",
        ),
        (
            "quality:\n  - {metric: ndcg@10, min: 0.5}\n",
            "policy.yaml:3: `quality` entry needs `dataset`",
        ),
        (
            "quality:\n  - {dataset: a, metric: ndcg@10, min: 0.5, on_missing: admit}\n",
            "policy.yaml:3: `quality.on_missing` must be refuse or conditional, not 'admit'",
        ),
        (
            "quality:\n  - {dataset: a, metric: ndcg@10, min: 0.5, sha256: abc}\n",
            "policy.yaml:3: `quality.sha256` must be the dataset's sha256 as `airlock eval` "
            "reports it (64 hex digits), not 'abc'",
        ),
        (
            "quality:\n  - dataset: a\n    metric: ndcg@10\n    minimum: 0.5\n",
            "policy.yaml:5: unknown setting `minimum` in `quality` (did you mean `min`?)",
        ),
        ("quality:\n  dataset: a\n", "policy.yaml:3: `quality` must be a list"),
        (
            "quality:\n  - support-faq\n",
            "policy.yaml:3: each of `quality` must be a mapping of settings",
        ),
        (
            "quality:\n  - {dataset: a, metric: ndcg@10, min: true}\n",
            "policy.yaml:3: `quality.min` must be a number, not 'true'",
        ),
    ],
)
def test_a_bad_requirement_is_an_error_at_its_line(body: str, message: str) -> None:
    assert _error(body) == message


def test_a_passing_result_admits(dossier: Dossier) -> None:
    decision, reasons = _verdict(dossier, REQUIRE, _result(dossier, 0.55))
    assert decision is Decision.ADMIT_WITH_CONDITIONS and reasons == []  # the license's conditions
    assert _verdict(dossier, "", _result(dossier, 0.1))[0] is Decision.ADMIT_WITH_CONDITIONS


def test_a_failing_result_refuses_naming_dataset_metric_value_and_threshold(
    dossier: Dossier,
) -> None:
    verdict = evaluate(replace(dossier, evals=(_result(dossier, 0.481),)), _policy(REQUIRE))
    assert verdict.decision is Decision.REFUSE
    (reason,) = verdict.reasons
    assert reason.rule == "quality.min"
    assert reason.message == (
        "the model falls short of your policy on support-faq: ndcg@10 is 0.481, below the "
        "minimum of 0.55 (recorded 2026-01-02 by alice, 40 items; policy.yaml:3)"
    )


def test_a_maximum_refuses_a_higher_value(dossier: Dossier) -> None:
    body = "quality:\n  - {dataset: calls, metric: wer, max: 0.15}\n"
    ok = _result(dossier, 0.15, metric="wer", dataset="calls")
    high = _result(dossier, 0.21, metric="wer", dataset="calls")
    assert _verdict(dossier, body, ok)[1] == []
    decision, reasons = _verdict(dossier, body, high)
    assert decision is Decision.REFUSE and "wer is 0.21, above the maximum of 0.15" in reasons[0]


def test_missing_refuses_by_default(dossier: Dossier) -> None:
    decision, reasons = _verdict(dossier, REQUIRE)
    assert decision is Decision.REFUSE
    assert reasons == [
        "no eval result on support-faq for ndcg@10 is recorded for these exact files, and your "
        "policy requires ndcg@10 of at least 0.55 (policy.yaml:3): evaluate the admitted model "
        "with `airlock eval`"
    ]


def test_missing_is_a_condition_when_the_policy_says_so(dossier: Dossier) -> None:
    verdict = evaluate(dossier, _policy(REQUIRE + "    on_missing: conditional\n"))
    assert verdict.decision is Decision.ADMIT_WITH_CONDITIONS and verdict.reasons == ()
    assert verdict.conditions[-1] == (
        "Evaluate it on support-faq with `airlock eval` before use: your policy requires ndcg@10 "
        "of at least 0.55 (policy.yaml:3), and no result is recorded for these exact files yet."
    )
    failing = replace(dossier, evals=(_result(dossier, 0.2),))
    # A result that is there and falls short refuses, whatever on_missing says.
    assert evaluate(failing, _policy(REQUIRE + "    on_missing: conditional\n")).decision is (
        Decision.REFUSE
    )


def test_a_result_for_other_files_never_counts(dossier: Dossier) -> None:
    other = _result(dossier, 0.9, digest="sha256:" + "0" * 64)
    decision, reasons = _verdict(dossier, REQUIRE, other)
    assert decision is Decision.REFUSE and reasons[0].startswith("no eval result on support-faq")


def test_results_on_another_dataset_or_metric_do_not_count(dossier: Dossier) -> None:
    elsewhere = (_result(dossier, 0.9, dataset="billing"), _result(dossier, 0.9, metric="ndcg@5"))
    assert _verdict(dossier, REQUIRE, *elsewhere)[1][0].startswith("no eval result")


def test_the_newest_result_decides(dossier: Dossier) -> None:
    old_pass = _result(dossier, 0.9, at="2026-01-01T00:00:00.000000+00:00")
    new_fail = _result(dossier, 0.3, at="2026-02-01T00:00:00.000000+00:00")
    assert _verdict(dossier, REQUIRE, old_pass, new_fail)[0] is Decision.REFUSE
    assert _verdict(dossier, REQUIRE, new_fail, old_pass)[0] is Decision.REFUSE
    newer_pass = _result(dossier, 0.9, at="2026-03-01T00:00:00.000000+00:00")
    assert _verdict(dossier, REQUIRE, new_fail, newer_pass)[1] == []


def test_a_pinned_dataset_counts_only_that_data(dossier: Dossier) -> None:
    pinned = REQUIRE + f"    sha256: {SHA}\n"
    other_data = _result(dossier, 0.9, sha256="cd" * 32)
    decision, reasons = _verdict(dossier, pinned, other_data)
    assert decision is Decision.REFUSE
    assert reasons[0].startswith(
        f"no eval result on support-faq (sha256 {SHA[:12]}...) for ndcg@10"
    )
    assert _verdict(dossier, pinned, other_data, _result(dossier, 0.9))[1] == []


def test_a_value_is_never_shown_as_the_threshold_it_missed() -> None:
    assert shown(0.5499999, 0.55) == "0.5499999"
    assert shown(0.48123, 0.55) == "0.4812"
    assert shown(0.55, 0.55) == "0.55"


def test_the_starter_policy_example_is_a_valid_requirement() -> None:
    from importlib import resources

    text = resources.files("airlock.data").joinpath("policy", "default.yaml").read_text("utf-8")
    start = text.index("quality: []\n")
    example = []
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("#  "):
            break
        example.append(line[1:])
    (rule,) = _policy("quality:\n" + "\n".join(example) + "\n").quality
    assert (rule.dataset, rule.metric, rule.min, rule.on_missing) == (
        "support-faq",
        "ndcg@10",
        0.55,
        "conditional",
    )


@pytest.mark.parametrize(
    ("items", "failed", "what"), [(40, 3, "3 of 40 items failed"), (0, 0, "no item ran")]
)
def test_a_result_with_failed_items_never_passes(
    dossier: Dossier, items: int, failed: int, what: str
) -> None:
    incomplete = replace(_result(dossier, 0.99), items=items, failed=failed)
    for body in (REQUIRE, REQUIRE + "    on_missing: conditional\n"):
        decision, reasons = _verdict(dossier, body, incomplete)
        assert decision is Decision.REFUSE
        assert reasons == [
            f"the newest result on support-faq does not show the model meets your policy: {what} "
            "(recorded 2026-01-02 by alice; policy.yaml:3): fix the failures and evaluate it "
            "again with `airlock eval`"
        ]
