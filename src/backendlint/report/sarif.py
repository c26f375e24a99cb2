"""SARIF 2.1.0, the format GitHub code scanning ingests.

The output is a pure function of the report: no timestamps, no absolute paths except the
root in `originalUriBaseIds`, rules and results in a fixed order, so two runs over the
same code give byte-identical files (CI caches and diffs stay quiet)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote

from ..findings import Confidence, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/backendlint/backendlint"
HELP_URI = "https://github.com/backendlint/backendlint/blob/main/docs/rules/{id}.md"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "backendlintFingerprint/v1"

# Result level (and the rule's default level) per severity.
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
         Severity.LOW: "note"}
# GitHub's `problem.severity` only knows these three words.
PROBLEM_SEVERITY = {Severity.CRITICAL: "error", Severity.HIGH: "error",
                    Severity.MEDIUM: "warning", Severity.LOW: "recommendation"}
# GitHub ranks security alerts by this score (a string): >= 9 critical, >= 7 high,
# >= 4 medium, else low — the values sit inside each band.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0"}
PRECISION = {Confidence.HIGH: "high", Confidence.MEDIUM: "medium", Confidence.LOW: "low"}
# GitHub keeps only the first 10 tags of a rule.
MAX_TAGS = 10
# GitHub truncates rule descriptions longer than this.
MAX_DESCRIPTION = 1024


def render(report, **options) -> str:
    return json.dumps(build(report), indent=2, ensure_ascii=False) + "\n"


def build(report) -> dict:
    """The SARIF log as plain dicts and lists (handy for tests and library users)."""
    from .. import __version__

    rules = _rules_in_run(report)
    index = {rule_id: position for position, rule_id in enumerate(rules)}
    run = {
        "tool": {
            "driver": {
                "name": "backendlint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(rule) for rule in rules.values()],
            }
        },
        "invocations": [_invocation(report)],
        "originalUriBaseIds": {SRCROOT: {"uri": root_uri(Path(report.config.root))}},
        # Finding columns already count code points (see findings.Location).
        "columnKind": "unicodeCodePoints",
        "results": [_result(finding, index.get(finding.rule_id))
                    for finding in sorted(report.findings, key=lambda f: f.sort_key())],
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rules_in_run(report) -> dict:
    """Rule id -> class for every active rule, plus any rule a finding names that is not
    active (defensive: a result's ruleIndex must always point at a descriptor)."""
    from ..registry import all_rules

    rules = dict(report.active)
    known = all_rules()
    for finding in report.findings:
        if finding.rule_id not in rules and finding.rule_id in known:
            rules[finding.rule_id] = known[finding.rule_id]
    return dict(sorted(rules.items()))


def rule_descriptor(rule) -> dict:
    from ..docs import rule_markdown

    meta = rule.meta
    security = "security" in meta.tags or bool(meta.cwe)
    properties: dict = {"tags": rule_tags(meta)}
    properties["precision"] = PRECISION[meta.confidence]
    properties["problem.severity"] = PROBLEM_SEVERITY[meta.severity]
    if security:
        # GitHub treats any rule with a security-severity as a security query, so only
        # security rules get one (select-star is not a vulnerability).
        properties["security-severity"] = SECURITY_SEVERITY[meta.severity]
    markdown = rule_markdown(rule)
    return {
        "id": meta.id,
        "name": meta.name,
        "shortDescription": {"text": _clip(meta.summary)},
        "fullDescription": {"text": _clip(_full_description(rule))},
        "help": {"text": markdown, "markdown": markdown},
        "helpUri": HELP_URI.format(id=meta.id),
        "defaultConfiguration": {"level": LEVEL[meta.severity]},
        "properties": properties,
    }


def rule_tags(meta) -> list[str]:
    """`security` first, then one `external/cwe/cwe-N` per CWE (GitHub's convention),
    then the rule's own tags; de-duplicated and capped at GitHub's limit."""
    tags: list[str] = []
    if "security" in meta.tags or meta.cwe:
        tags.append("security")
    tags += [f"external/cwe/cwe-{number}" for number in meta.cwe]
    tags += list(meta.tags)
    unique = list(dict.fromkeys(tags))
    return unique[:MAX_TAGS]


def _full_description(rule) -> str:
    """The 'What it does' section of the rule docs as one paragraph of text."""
    from ..docs import rule_body

    body = rule_body(rule)
    marker = "## What it does"
    if marker in body:
        section = body.split(marker, 1)[1].split("\n## ", 1)[0]
        text = " ".join(section.split())
        if text:
            return text
    return rule.meta.summary


def _clip(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


def _invocation(report) -> dict:
    notes = [{"level": "error", "message": {"text": f"{path}: no such file or folder"}}
             for path in report.missing]
    notes += [{"level": "note", "message": {"text": notice}} for notice in report.notices]
    invocation: dict = {"executionSuccessful": not report.missing}
    if notes:
        invocation["toolExecutionNotifications"] = notes
    return invocation


def _result(finding, rule_index: int | None) -> dict:
    loc = finding.location
    region = {"startLine": loc.line, "startColumn": loc.column, "endLine": loc.end_line,
              "endColumn": loc.end_column}
    physical: dict = {
        "artifactLocation": {"uri": relative_uri(loc.path), "uriBaseId": SRCROOT},
        "region": region,
    }
    context = _context_region(finding)
    if context:
        physical["contextRegion"] = context
    fingerprint = fingerprint_of(finding)
    result = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": physical}],
        # Our fingerprint has no line number in it, so alerts survive code moving. It
        # also stands in for GitHub's line hash, which upload-sarif would otherwise
        # compute from a checkout that API uploads do not have.
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint,
                                "primaryLocationLineHash": fingerprint},
        "properties": {"confidence": finding.confidence.value,
                       "severity": finding.severity.value},
    }
    if rule_index is None:  # a rule unknown to this build: the id alone must do
        del result["ruleIndex"]
    return result


def _context_region(finding) -> dict | None:
    """The snippet as the whole lines around the region. `region.snippet` would have to
    be the exact flagged text; the snippet is whole lines (and may be redacted by secret
    rules), so it belongs in `contextRegion`. Only emitted when it covers the region."""
    if not finding.snippet:
        return None
    loc = finding.location
    lines = finding.snippet.split("\n")
    last = loc.line + len(lines) - 1
    if last < loc.end_line:  # the snippet was cut short: not a superset of the region
        return None
    return {"startLine": loc.line, "endLine": last, "snippet": {"text": finding.snippet}}


def fingerprint_of(finding) -> str:
    """The engine's fingerprint; findings made before fingerprinting (unreadable files)
    get one from rule, path and message, which is just as free of line numbers."""
    if finding.fingerprint:
        return finding.fingerprint
    base = f"{finding.rule_id}\0{finding.location.path}\0{finding.message}"
    return hashlib.sha256(base.encode()).hexdigest()[:32]


def relative_uri(path: str) -> str:
    """A '/'-separated relative path as a URI reference: spaces, non-ASCII (as UTF-8),
    '%', '#', '?' and ':' percent-encoded, so no segment can read as a scheme."""
    return quote(path.replace("\\", "/"), safe="/")


def root_uri(root: Path) -> str:
    """The root as an absolute file URI ending in '/', so relative URIs resolve inside it."""
    uri = root.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"
