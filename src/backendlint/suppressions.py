"""Suppression comments: `# backendlint: ignore[BL101, BL102] -- reason` on the flagged
line (any line of a multi-line finding) or alone on the line before it,
`# backendlint: ignore-file[BL101]` anywhere in the file, and the same with `--` in SQL.
A bare ignore names nothing and suppresses nothing (BL902); an ignore that suppresses
nothing is BL903."""
from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from .findings import Finding

MARKER = "backendlint:"
_DIRECTIVE = re.compile(
    r"backendlint:\s*(?P<kind>ignore-file|ignore)\b\s*(?:\[(?P<ids>[^\]]*)\])?", re.I)


@dataclass
class Suppression:
    line: int  # where the comment is
    column: int
    end_column: int
    file_level: bool
    ids: list[str]  # upper-cased; empty for a bare ignore
    applies_to: set[int] = field(default_factory=set)  # lines it covers (empty: file level)
    used: set[str] = field(default_factory=set)


def find_python(text: str) -> list[Suppression]:
    if MARKER not in text:
        return []
    comments: list[tuple[int, int, str, bool]] = []  # line, col, text, alone on its line
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return _find_by_lines(text, "#")
    last_code_line = 0
    for token in tokens:
        if token.type == tokenize.COMMENT:
            comments.append((token.start[0], token.start[1], token.string,
                             token.start[0] != last_code_line))
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):
            last_code_line = token.end[0]
    code_lines = _code_lines(tokens)
    return _build(comments, code_lines)


def find_sql(text: str) -> list[Suppression]:
    if MARKER not in text:
        return []
    return _find_by_lines(text, "--")


def _find_by_lines(text: str, comment: str) -> list[Suppression]:
    comments, code_lines = [], set()
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        index = line.find(comment)
        code = line[:index] if index >= 0 else line
        if code.strip():
            code_lines.add(number)
        if index >= 0 and MARKER in line[index:]:
            comments.append((number, index, line[index:], not code.strip()))
    return _build(comments, sorted(code_lines))


def _code_lines(tokens) -> list[int]:
    lines = set()
    for token in tokens:
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):
            lines.update(range(token.start[0], token.end[0] + 1))
    return sorted(lines)


def _build(comments, code_lines: list[int]) -> list[Suppression]:
    import bisect

    found = []
    for line, col, comment, alone in comments:
        match = _DIRECTIVE.search(comment)
        if not match:
            continue
        ids = [part.strip().upper() for part in (match.group("ids") or "").split(",") if part.strip()]
        file_level = match.group("kind").lower() == "ignore-file"
        suppression = Suppression(line, col + 1, col + 1 + len(comment.rstrip()), file_level, ids)
        if not file_level:
            suppression.applies_to.add(line)
            if alone:  # an own-line comment covers the next line of code
                index = bisect.bisect_right(code_lines, line)
                if index < len(code_lines):
                    suppression.applies_to.add(code_lines[index])
        found.append(suppression)
    return found


def apply(findings: list[Finding], suppressions: list[Suppression]) -> None:
    """Mark suppressed findings, and record which suppressions were used."""
    if not suppressions:
        return
    for finding in findings:
        loc = finding.location
        span = range(loc.line, loc.end_line + 1)
        for suppression in suppressions:
            if finding.rule_id not in suppression.ids:
                continue
            if suppression.file_level or any(line in suppression.applies_to for line in span):
                finding.suppressed = True
                suppression.used.add(finding.rule_id)
