"""Recorded eval results in words, as `airlock vet` and `airlock models show` list them."""

from __future__ import annotations

from airlock.dossier.evals import RecordedEval


def describe(result: RecordedEval) -> str:
    """One line: "support-faq ndcg@10 = 0.612 (95% CI 0.55 to 0.67): 120 items run; ..." """
    ci = f" (95% CI {result.ci95[0]:.4g} to {result.ci95[1]:.4g})" if result.ci95 else ""
    failed = f", {result.failed} failed" if result.failed else ""
    data = result.dataset
    return (
        f"{data.name} {result.metric} = {result.value:.4g}{ci}: {result.items} items run"
        f"{failed}; data sha256 {data.sha256[:12]}... ({data.items} items, {data.bytes:,} "
        f"bytes); recorded {result.recorded_at[:16].replace('T', ' ')} UTC by "
        f"{result.recorded_by} with Airlock {result.airlock_version}, as {result.model} "
        f"v{result.version}"
    )


def summary(results: tuple[RecordedEval, ...]) -> str:
    """One line for the report's "what was checked"."""
    if not results:
        return "no eval result is recorded for these exact files."
    datasets = sorted({r.dataset.name for r in results})
    count = "1 eval result" if len(results) == 1 else f"{len(results)} eval results"
    return f"{count} recorded for these exact files, on {', '.join(datasets)} (listed below)."
