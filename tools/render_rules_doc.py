"""Write docs/rules.md from airlock.rules (the single source of truth for rule ids).

Run after adding or changing a rule: `.venv/bin/python tools/render_rules_doc.py`.
tests/test_rules_doc.py fails when the page is out of date.
"""

from __future__ import annotations

from pathlib import Path

from airlock.rules import RULES

DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def render() -> str:
    lines = [
        "# Rules",
        "",
        "Every finding names a stable rule id. Severities are the defaults; a finding may be",
        "raised or lowered by what was seen (the message says why). `--fail-on` decides which",
        "severities fail a scan (default: high).",
        "",
        "| id | name | default severity | CWE |",
        "| --- | --- | --- | --- |",
    ]
    for rule in RULES.values():
        cwe = f"[CWE-{rule.cwe}]({rule.cwe_url})"
        lines.append(
            f"| [{rule.id}](#{rule.id.lower()}) | {rule.name} | {rule.default_severity.label} | "
            f"{cwe if rule.cwe else '-'} |"
        )
    for rule in RULES.values():
        lines += [
            "",
            f"## {rule.id}",
            "",
            f"**{rule.name}** — default severity *{rule.default_severity.label}*.",
            "",
            rule.summary,
            "",
            f"What to do: {rule.advice}",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    DOC.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
