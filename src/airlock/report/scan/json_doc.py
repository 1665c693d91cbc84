"""The JSON report: a stable document for pipelines; fields are only ever added, never changed.

Shape (schema_version 1):

    {
      "schema_version": 1,
      "tool": {"name": "airlock", "version": "0.1.0"},
      "summary": {
        "files": 3, "inspected": 2, "not_inspected": 1, "findings": 2,
        "by_severity": {"critical": 1, "high": 1, "medium": 0, "low": 0, "info": 0},
        "worst_severity": "critical",       # null when there are no findings
        "fail_on": "high",
        "failed": true                      # a finding at or above fail_on: exit code 1
      },
      "huggingface": [                      # cache snapshots scanned (may be empty)
        {"repo_type": "model", "repo_id": "org/name", "revision": "<commit>", "refs": ["main"],
         "path": ".../models--org--name/snapshots/<commit>"}
      ],
      "files": [
        {"path": "model/weights.pkl", "kind": "pickle", "size": 41, "inspected": true,
         "findings": [{"id": "AIR101", "severity": "critical", "file": "model/weights.pkl",
                       "location": {"members": [], "offset": 2},
                       "message": "...", "evidence": "..."}]}
      ]
    }

Files are in scan order (sorted paths); findings within a file in the order they were found.
"""

from __future__ import annotations

import json
from typing import Any

from airlock import __version__
from airlock.findings import Severity
from airlock.report.scan.summary import summarize
from airlock.scan.results import FileResult, ScanReport

SCHEMA_VERSION = 1


def render_json(report: ScanReport, fail_on: Severity) -> str:
    summary = summarize(report, fail_on)
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "airlock", "version": __version__},
        "summary": {
            "files": summary.files,
            "inspected": summary.inspected,
            "not_inspected": summary.not_inspected,
            "findings": summary.findings,
            "by_severity": {s.label: n for s, n in summary.by_severity.items()},
            "worst_severity": summary.worst.label if summary.worst is not None else None,
            "fail_on": fail_on.label,
            "failed": summary.failed,
        },
        "huggingface": [
            {
                "repo_type": snap.repo_type,
                "repo_id": snap.repo_id,
                "revision": snap.revision,
                "refs": list(snap.refs),
                "path": str(snap.path),
            }
            for snap in report.snapshots
        ],
        "files": [],
    }
    # ASCII escapes keep odd file names (undecodable bytes, control characters) safe to print.
    # The document is exactly json.dumps(document, indent=2) with the files in place (see
    # _file_entry): the files are written one by one, since json's indenting encoder is
    # pure Python and slow on thousands of them.
    head = json.dumps(document, indent=2)
    if not report.files:
        return head + "\n"
    assert head.endswith(_NO_FILES), "files must stay the document's last key"
    entries = ",\n    ".join(_file_entry(result) for result in report.files)
    return f"{head[: -len(_NO_FILES)]}[\n    {entries}\n  ]\n}}\n"


_NO_FILES = "[]\n}"
_ENTRY = (
    '{{\n      "path": {},\n      "kind": {},\n      "size": {},\n      "inspected": {},\n'
    '      "findings": []\n    }}'
)


def _file_entry(result: FileResult) -> str:
    """One file as json.dumps(document, indent=2) writes it inside the files list: from a
    template for the usual file without findings, else by json itself, indented one more
    level (JSON strings hold no raw newline, so every line break is the encoder's)."""
    if (
        not result.findings
        and type(result.path) is str
        and type(result.kind) is str
        and type(result.size) is int
        and type(result.inspected) is bool
    ):
        inspected = "true" if result.inspected else "false"
        return _ENTRY.format(_string(result.path), _string(result.kind), result.size, inspected)
    return json.dumps(result.to_dict(), indent=2).replace("\n", "\n    ")


_string = json.encoder.encode_basestring_ascii
