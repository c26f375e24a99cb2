"""Finds the calls that run SQL (sinks, from the `sql_sinks` knowledge base), rebuilds
the SQL string each one receives, and turns it into a `SqlStatement` located in the
Python file. Runs inside the shared walk; the SQL rules and BL101 read its results."""
from __future__ import annotations

import ast
from dataclasses import dataclass

from ..findings import Confidence, Location
from ..sql.statements import SqlStatement, looks_like_sql, parse_one
from .strings import Built, Hole, Piece, StringResolver

HOLE_MARK = "bl_hole_"


@dataclass
class SinkCall:
    call: ast.Call
    query: ast.AST  # the argument holding the SQL
    api: str
    built: Built
    statement: SqlStatement | None  # None when the string does not read as SQL

    @property
    def sql_text(self) -> str:
        return self.statement.text if self.statement else ""


class SinkMatcher:
    def __init__(self, knowledge: dict[str, list[dict]]):
        self.methods: dict[str, dict] = {}
        self.functions: dict[str, dict] = {}
        for entry in knowledge.get("method", []):
            for name in entry.get("names", []):
                self.methods[name] = entry
        for entry in knowledge.get("function", []):
            self.functions[entry["qualname"]] = entry

    def match(self, call: ast.Call, qualname) -> tuple[dict, ast.AST] | None:
        """(knowledge entry, SQL argument) when `call` is a sink called with its SQL."""
        entry = None
        if self.functions:
            name = qualname(call.func)
            if name is not None:
                entry = self.functions.get(name)
        if entry is None and isinstance(call.func, ast.Attribute):
            entry = self.methods.get(call.func.attr)
        if entry is None:
            return None
        position = entry.get("argument", 0)
        if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
            return entry, call.args[position]
        for keyword in call.keywords:
            if keyword.arg in entry.get("keywords", ()):
                return entry, keyword.value
        return None


class EmbeddedSql:
    """Engine visitor: fills `file.sql_calls` during the walk."""

    def __init__(self, file, matcher: SinkMatcher, dialect: str):
        self.file = file
        self.matcher = matcher
        self.dialect = dialect
        self.resolver = StringResolver(file)
        file.sql_calls = []

    def visit_Call(self, node: ast.Call) -> None:
        found = self.matcher.match(node, self.file.qualname)
        if found is None:
            return
        entry, query = found
        built = self.resolver.resolve(query, self.file.enclosing_function())
        statement = self._statement(query, built)
        self.file.sql_calls.append(SinkCall(node, query, entry.get("api", ""), built, statement))

    def _statement(self, query: ast.AST, built: Built) -> SqlStatement | None:
        text = built.text(hole_marker)
        starts_with_hole = bool(built.parts) and isinstance(built.parts[0], Hole)
        if not text.strip() or not (looks_like_sql(text) or starts_with_hole):
            return None
        tree, error = parse_one(text, self.dialect)
        whole = self.file.location(query)
        locate = _literal_mapper(self.file, built, whole)
        # SQL that sqlglot could not read is judged from its text alone: less certain.
        cap = Confidence.MEDIUM if tree is None else None
        return SqlStatement(text, tree, locate, whole, embedded=True, confidence_cap=cap,
                            error=error)


def hole_marker(index: int, hole: Hole) -> str:
    return f"{HOLE_MARK}{index}"


def _literal_mapper(file, built: Built, whole: Location):
    """Map offsets in the SQL back into the Python source when the SQL is one plain string
    literal whose source text equals its value (no escapes, no implicit concatenation);
    otherwise every offset maps to the whole expression."""
    fallback = lambda start, end: whole  # noqa: E731
    if len(built.parts) != 1 or not isinstance(built.parts[0], Piece):
        return fallback
    node = built.parts[0].node
    if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
        return fallback
    segment = file.source_segment(node)
    prefix_len = len(segment) - len(segment.lstrip("rRbBuU"))
    body = segment[prefix_len:]
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    if not quote or body[len(quote):len(body) - len(quote)] != node.value:
        return fallback
    literal = file.location(node)
    start_line, start_col = literal.line, literal.column + prefix_len + len(quote)

    def position(offset: int) -> tuple[int, int]:
        before = node.value[:offset]
        newlines = before.count("\n")
        if newlines == 0:
            return start_line, start_col + len(before)
        return start_line + newlines, len(before) - before.rfind("\n")

    def locate(start: int, end: int) -> Location:
        line, col = position(start)
        end_line, end_col = position(end)
        return Location(literal.path, line, col, end_line, end_col)

    return locate
