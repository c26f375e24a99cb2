"""The console report: findings grouped by file, each with a short code frame, then a
summary. Rich styling on a terminal; plain text when piped or with NO_COLOR."""
from __future__ import annotations

import os
import sys
from collections import Counter

from ..findings import Severity

_STYLE = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
          Severity.LOW: "cyan"}


def make_console(stream=None, color: str = "auto"):
    from rich.console import Console

    stream = stream or sys.stdout
    if color == "always":
        force, no_color = True, False
    elif color == "never":
        force, no_color = False, True
    else:
        force = True if os.environ.get("FORCE_COLOR") else None
        no_color = bool(os.environ.get("NO_COLOR"))
    return Console(file=stream, force_terminal=force, no_color=no_color, highlight=False,
                   soft_wrap=True, emoji=False)


def render(report, console, *, statistics: bool = False, quiet: bool = False,
           show_findings: bool = True) -> None:
    from rich.text import Text

    if show_findings and not quiet:
        current = None
        for finding in report.findings:
            loc = finding.location
            if loc.path != current:
                current = loc.path
                console.print()
                console.print(Text(loc.path, style="bold underline"))
            head = Text()
            head.append(f"  {loc.line}:{loc.column} ", style="dim")
            head.append(f"{finding.rule_id} ", style=_STYLE[finding.severity])
            head.append(f"[{finding.severity.value}] ", style=_STYLE[finding.severity])
            head.append(finding.message)
            head.append(f"  ({finding.rule_name}, {finding.confidence.value} confidence)", style="dim")
            console.print(head)
            _code_frame(console, finding)
    for notice in report.notices:
        console.print(Text(f"note: {notice}", style="dim"))
    if statistics:
        _statistics(report, console)
    _summary(report, console)


def _code_frame(console, finding) -> None:
    from rich.text import Text

    lines = finding.snippet.split("\n")[:3] if finding.snippet else []
    loc = finding.location
    width = len(str(loc.line + len(lines)))
    for offset, line in enumerate(lines):
        number = loc.line + offset
        if len(line) > 160:
            line = line[:157] + "..."
        frame = Text(f"    {number:>{width}} | ", style="dim")
        frame.append(line.expandtabs(4))
        console.print(frame)
        if offset == 0 and len(lines) == 1 and loc.end_line == loc.line:
            prefix = line[: loc.column - 1].expandtabs(4)
            span = max(1, min(loc.end_column, len(line) + 1) - loc.column)
            console.print(Text(" " * (4 + width + 3 + len(prefix)) + "^" * min(span, 120),
                               style=_STYLE[finding.severity]))


def _statistics(report, console) -> None:
    from rich.table import Table

    counts = Counter((f.rule_id, f.rule_name) for f in report.findings)
    table = Table(title="Findings per rule", show_edge=False)
    table.add_column("count", justify="right")
    table.add_column("rule")
    table.add_column("name")
    for (rule_id, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        table.add_row(str(count), rule_id, name)
    console.print()
    if counts:
        console.print(table)
    console.print(f"{report.files} files checked, {report.parsed} parsed, "
                  f"{report.files - report.parsed} skipped by the prefilter or unreadable")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(report, console) -> None:
    from rich.text import Text

    by_severity = Counter(f.severity for f in report.findings)
    console.print()
    files = _plural(report.files, "file")
    if not report.findings:
        line = Text(f"No findings in {files}.", style="green")
    else:
        line = Text(f"{_plural(len(report.findings), 'finding')} in {files}: ")
        parts = []
        for severity in sorted(Severity, reverse=True):
            if by_severity[severity]:
                parts.append((f"{by_severity[severity]} {severity.value}", _STYLE[severity]))
        for index, (text, style) in enumerate(parts):
            if index:
                line.append(", ")
            line.append(text, style=style)
    if report.suppressed:
        line.append(f" ({report.suppressed} suppressed)", style="dim")
    console.print(line)
