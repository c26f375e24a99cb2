"""The fixture annotation grammar (DESIGN.md):

    code()   # expect: BL101          a finding of BL101 starts on this line
    # expect: BL101, BL102             alone on a line: applies to the next code line
    code()   # ok: BL101               a near-miss: BL101 must stay silent here
    code()   # known-fn: BL101         should fire, does not yet (a visible gap)
    -- expect: BL102                   the same in SQL files
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_ANNOTATION = re.compile(r"(?:#|--)\s*(expect|ok|known-fn):\s*((?:BL\d{3}\s*,?\s*)+)")


@dataclass
class Expectations:
    expect: set[tuple[int, str]] = field(default_factory=set)
    ok: set[tuple[int, str]] = field(default_factory=set)
    known_fn: set[tuple[int, str]] = field(default_factory=set)

    def rule_ids(self) -> set[str]:
        return {rule for _, rule in self.expect | self.ok | self.known_fn}


def parse(text: str, comment: str) -> Expectations:
    lines = text.replace("\r\n", "\n").split("\n")
    result = Expectations()
    pending: list[tuple[str, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        found = [(kind, re.findall(r"BL\d{3}", ids)) for kind, ids in _ANNOTATION.findall(line)]
        own_line = stripped.startswith(comment)
        if own_line:
            pending.extend(found)
            continue
        if not stripped:
            continue
        for kind, ids in pending + found:
            target = {"expect": result.expect, "ok": result.ok, "known-fn": result.known_fn}[kind]
            target.update((number, rule) for rule in ids)
        pending = []
    return result


def string_anchors(text: str) -> dict[int, int]:
    """Lines inside a multi-line string cannot carry a comment: map each of them to the
    first line of the statement that holds the string, where the annotation goes."""
    import ast
    import io
    import tokenize

    anchors: dict[int, int] = {}
    try:
        tree = ast.parse(text)
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (SyntaxError, tokenize.TokenError):
        return anchors
    inside = set()
    for token in tokens:
        if token.type == tokenize.STRING or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            inside.update(range(token.start[0], token.end[0]))  # all but the last line
    if not inside:
        return anchors
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not hasattr(node, "body"):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                if line in inside:
                    anchors.setdefault(line, node.lineno)
    return anchors
