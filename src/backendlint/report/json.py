"""The JSON report: a small, versioned shape for scripts and dashboards.

The shape is documented in docs/output-formats.md; bump VERSION when a field changes
meaning or disappears (adding a field does not need a bump)."""
from __future__ import annotations

import json

from ..findings import Severity

VERSION = 1


def render(report, **options) -> str:
    return json.dumps(build(report), indent=2, ensure_ascii=False) + "\n"


def build(report) -> dict:
    from .. import __version__
    from .sarif import fingerprint_of

    findings = sorted(report.findings, key=lambda f: f.sort_key())
    # Every severity is always present, most severe first, so consumers need no defaults.
    by_severity = {severity.value: 0 for severity in sorted(Severity, reverse=True)}
    entries = []
    for finding in findings:
        by_severity[finding.severity.value] += 1
        entry = finding.to_dict()
        entry["fingerprint"] = fingerprint_of(finding)  # never empty, as for SARIF
        entries.append(entry)
    return {
        "version": VERSION,
        "tool": {"name": "backendlint", "version": __version__},
        "root": str(report.config.root),
        "summary": {
            "files": report.files,
            "parsed": report.parsed,
            "findings": len(findings),
            "suppressed": report.suppressed,
            "by_severity": by_severity,
        },
        "findings": entries,
    }
