"""GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` line per
finding, which the runner turns into annotations on the pull request's diff.

Paths are relative to the project root; run backendlint from the repository root (or
with the config at the root) so they match the checkout."""
from __future__ import annotations

from ..findings import Severity

COMMAND = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
           Severity.LOW: "notice"}


def render(report, **options) -> str:
    lines = [annotation(finding) for finding in sorted(report.findings, key=lambda f: f.sort_key())]
    return "".join(line + "\n" for line in lines)


def annotation(finding) -> str:
    loc = finding.location
    props = [("file", loc.path), ("line", loc.line)]
    if loc.end_line == loc.line:
        props += [("col", loc.column), ("endLine", loc.end_line), ("endColumn", loc.end_column)]
    else:
        # GitHub does not accept columns on an annotation spanning several lines.
        props += [("endLine", loc.end_line)]
    props.append(("title", f"{finding.rule_id} {finding.rule_name}"))
    head = ",".join(f"{key}={escape_property(str(value))}" for key, value in props)
    return f"::{COMMAND[finding.severity]} {head}::{escape_data(finding.message)}"


def escape_data(text: str) -> str:
    """The message part: '%' first, so the escapes themselves are not re-escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: also ':' and ',', which would end the value or the properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
