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
    source_line: str = ""  # the comment, at its column, for code frames

    def location(self, path: str):
        from .findings import Location

        return Location(path, self.line, self.column, self.line, self.end_column)


def find_python(text: str) -> list[Suppression]:
    if MARKER not in text:
        return []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return _find_by_lines(text, "#")
    # Logical lines (statements spread over several physical lines, as formatters write
    # them): a comment anywhere on one covers all of it.
    statements: list[tuple[int, int]] = []
    comments: list[tuple[int, int, str, bool]] = []
    start = None
    for token in tokens:
        if token.type == tokenize.COMMENT:
            comments.append((token.start[0], token.start[1], token.string, start is None))
        elif token.type == tokenize.NEWLINE:
            if start is not None:
                statements.append((start, token.start[0]))
            start = None
        elif token.type not in _LAYOUT and start is None:
            start = token.start[0]
    return _build(comments, statements)


_LAYOUT = (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER)


def find_sql(text: str) -> list[Suppression]:
    if MARKER not in text:
        return []
    return _find_by_lines(text, "--")


def _find_by_lines(text: str, comment: str) -> list[Suppression]:
    """Line-based reading, for SQL (and Python that does not tokenize): each line with
    code is its own statement."""
    comments, statements = [], []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        index = line.find(comment)
        code = line[:index] if index >= 0 else line
        if code.strip():
            statements.append((number, number))
        if index >= 0 and MARKER in line[index:]:
            comments.append((number, index, line[index:], not code.strip()))
    return _build(comments, statements)


def _build(comments, statements: list[tuple[int, int]]) -> list[Suppression]:
    """`statements` are (first line, last line) of each statement, in order."""
    import bisect

    starts = [first for first, _ in statements]
    found = []
    for line, col, comment, alone in comments:
        match = _DIRECTIVE.search(comment)
        if not match:
            continue
        ids = [part.strip().upper() for part in (match.group("ids") or "").split(",") if part.strip()]
        file_level = match.group("kind").lower() == "ignore-file"
        # Only the comment is kept for code frames (blank up to it): the code before it
        # may hold a secret, and suppressions are stored in the cache.
        suppression = Suppression(line, col + 1, col + 1 + len(comment.rstrip()), file_level, ids,
                                  source_line=" " * col + comment.rstrip())
        if not file_level:
            suppression.applies_to.add(line)
            if alone:  # an own-line comment covers the next statement
                index = bisect.bisect_right(starts, line)
            else:  # a trailing comment covers the statement it ends or sits in
                index = bisect.bisect_right(starts, line) - 1
            if 0 <= index < len(statements):
                first, last = statements[index]
                if alone or first <= line <= last:
                    suppression.applies_to.update(range(first, last + 1))
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
